"""The tables that summary, report and the notebook share, and their text, Markdown and HTML forms."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import List, Sequence

from clockbench.theory.compare import Check
from clockbench.measure.metrics import RunMetrics


@dataclass
class Table:
    headers: List[str]
    rows: List[List[str]]


def num(x: float, digits: int = 3) -> str:
    """A number as a table shows it: '-' for NaN, integers without decimals."""
    if isinstance(x, (int,)) or (isinstance(x, float) and x.is_integer() and abs(x) < 1e15):
        return str(int(x))
    if not math.isfinite(x):
        return "-"
    return f"{x:.{digits}f}"


def machine_table(m: RunMetrics) -> Table:
    # host and clock: where the rank ran, its clock offset to rank 0's (start estimate, seconds), the
    # offset's uncertainty (the larger of the two estimates', microseconds) and the clocks' rate
    # difference (ppm; '-' without an end estimate).
    headers = ["machine", "host", "offset_s", "offset_unc_us", "clock_ppm", "rate_hz", "achieved_hz", "ticks",
               "internal", "send_one", "send_all", "receive",
               "jump_mean", "jump_p99", "jump_max", "queue_mean", "queue_max", "queue_final", "queue_slope",
               "lag_mean", "lag_max", "late_p99_ms", "phase_s", "late_deliveries", "missed_ticks"]
    rows = []
    for x in m.machines:
        mix = x.mix
        rows.append([str(x.rank), x.hostname or "-", f"{x.clock_offset_s:.6f}",
                     f"{1e6 * x.clock_offset_uncertainty_s:.1f}", num(x.clock_rate_ppm, 3),
                     num(x.rate_hz), f"{x.achieved_hz:.4f}", str(x.ticks)]
                    + [f"{f:.3f}" for f in mix]
                    + [num(x.jump_mean, 2), num(x.jump_p99, 1), str(x.jump_max), num(x.queue_mean, 2),
                       str(x.queue_max), str(x.queue_final), num(x.queue_slope, 3), num(x.lag_mean, 1),
                       num(x.lag_max, 0), f"{1e3 * x.lateness_p99_s:.3f}", f"{x.phase_s:.4f}"]
                    + ([str(x.late_deliveries), str(x.missed_ticks)] if m.timing_known else ["-", "-"]))
    return Table(headers, rows)


def checks_table(checks: Sequence[Check]) -> Table:
    """predicted: at the run's length (finite-T queues); mean_field: the T -> infinity value where
    it differs ('-' where the two are the same quantity)."""
    rows = [[str(c.machine), c.quantity, f"{c.measured:.3f}", f"{c.predicted:.3f}", f"±{c.tolerance:.3f}",
             num(c.mean_field), "pass" if c.ok else "FAIL"] for c in checks]
    return Table(["machine", "quantity", "measured", "predicted", "tolerance", "mean_field", "check"], rows)


def render_text(t: Table) -> str:
    widths = [max(len(h), *(len(r[i]) for r in t.rows)) if t.rows else len(h) for i, h in enumerate(t.headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(t.headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in t.rows]
    return "\n".join(lines)


def render_markdown(t: Table) -> str:
    lines = ["| " + " | ".join(t.headers) + " |", "|" + "|".join(" ---: " for _ in t.headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in t.rows]
    return "\n".join(lines)


def render_html(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in r) + "</tr>" for r in t.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def alarming(cell: str) -> bool:
    """A cell that must stand out: a failed check, a degraded run."""
    return cell == "FAIL" or cell.startswith("DEGRADED")


def _cell(c: str) -> str:
    cls = ' class="fail"' if alarming(c) else ' class="pass"' if c == "pass" else ""
    return f"<td{cls}>{html.escape(c)}</td>"
