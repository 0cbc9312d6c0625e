"""The causality sections of the report (per run) and of the notebook (per variant): the figures
of causality.py as tables and sentences drawn from the data. docs/causality.md explains them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from clockbench.measure.causality import CausalityError, CausalityReport, analyse_causality
from clockbench.documents.document import Document
from clockbench.file.schema import SchemaError, open_run
from clockbench.documents.tables import Table, num

EXPLAIN = ("ordered: event pairs one of which happened before the other (a message path links them); "
           "concurrent: the rest; Lamport order not causal: of the pairs with different Lamport clocks, the "
           "share with no message path between them (the order the clocks show there is arbitrary); "
           "knowledge: how old the newest event of the column machine that the row machine knows of is, in "
           "model seconds, averaged over the run (its vector clock's entry), beside the row machine's lag "
           "behind the largest Lamport clock. docs/causality.md.")


def causality_of(path: str) -> Optional[CausalityReport]:
    """The run's causality, or None where the file cannot hold one (the report says why)."""
    try:
        return analyse_causality(open_run(path))
    except (SchemaError, CausalityError):
        return None


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100.0 * x:.3g} %"


def figures_table(rep: CausalityReport) -> Table:
    p = rep.pairs
    return Table(["events", "messages", "pairs", "ordered", "concurrent", "Lamport order not causal",
                  "longest causal chain", "vector-clock condition"],
                 [[str(rep.events), str(rep.messages), str(p.pairs), _pct(p.ordered / p.pairs if p.pairs else math.nan),
                   _pct(p.concurrent_fraction), _pct(p.unordered_given_lamport), str(rep.longest_chain),
                   "holds" if rep.conditions.ok else "VIOLATED"]])


def knowledge_table(rep: CausalityReport) -> Table:
    s = rep.staleness
    n = s.seconds_behind.shape[0]
    rows = [[str(i)] + ["-" if i == j else num(float(s.seconds_behind[i, j]), 2) for j in range(n)]
            + [num(float(s.lamport_lag[i]), 1)] for i in range(n)]
    return Table(["machine"] + [f"knows {j} (s behind)" for j in range(n)] + ["Lamport lag"], rows)


def knowledge_sentence(rep: CausalityReport) -> str:
    """The stalest knowledge of the run, and whether the Lamport lag shows it."""
    s = rep.staleness
    n = s.seconds_behind.shape[0]
    if n < 2:
        return "One machine: nothing to know of others."
    off = ~np.eye(n, dtype=bool)
    i, j = np.unravel_index(int(np.argmax(np.where(off, s.seconds_behind, -np.inf))), (n, n))
    return (f"The stalest knowledge: machine {i} knew of machine {j}'s events {s.seconds_behind[i, j]:.1f} s late on "
            f"average, while machine {i}'s Lamport lag behind the largest clock averaged {s.lamport_lag[i]:.1f}: the "
            "Lamport clock follows the fastest clock it hears of, the vector clock every machine.")


def add_run_causality(doc: Document, path: str) -> None:
    """The report's section for one run."""
    doc.heading("Causality", 3)
    rep = causality_of(path)
    if rep is None:
        doc.para("No causality: the file's receives do not name sends that are in it.", "note")
        return
    doc.table(figures_table(rep))
    doc.table(knowledge_table(rep))
    doc.para(knowledge_sentence(rep))
    doc.para(EXPLAIN, "muted")


@dataclass
class VariantCausality:
    key: str
    runs: int
    concurrent: float          # mean fraction of concurrent pairs
    unordered: float           # mean fraction of Lamport-ordered pairs that are not causal
    knowledge_s: float         # mean over runs and machine pairs of the seconds behind
    stalest_s: float           # mean over runs of the largest seconds behind
    lamport_lag: float         # mean over runs and machines of the Lamport lag


def summarise(key: str, paths: Sequence[str]) -> Optional[VariantCausality]:
    reps = [r for r in (causality_of(p) for p in paths) if r is not None]
    if not reps:
        return None
    n = reps[0].staleness.seconds_behind.shape[0]
    off = ~np.eye(n, dtype=bool)
    return VariantCausality(
        key, len(reps), float(np.mean([r.pairs.concurrent_fraction for r in reps])),
        float(np.mean([r.pairs.unordered_given_lamport for r in reps])),
        float(np.mean([r.staleness.seconds_behind[off].mean() for r in reps])),
        float(np.mean([r.staleness.seconds_behind[off].max() for r in reps])),
        float(np.mean([r.staleness.lamport_lag.mean() for r in reps])))


def add_variant_causality(doc: Document, groups: Dict[str, Sequence[str]], labels: Dict[str, str]) -> None:
    """The notebook's comparison of the variants' causality (paths of each variant's runs)."""
    rows: List[VariantCausality] = [v for v in (summarise(k, g) for k, g in groups.items()) if v is not None]
    doc.heading("Causality across the variants")
    if not rows:
        doc.para("No run could be analysed for causality.", "note")
        return
    doc.table(Table(["variant", "runs", "concurrent pairs", "Lamport order not causal", "knowledge (s behind, mean)",
                     "stalest knowledge (s)", "Lamport lag (mean)"],
                    [[v.key, str(v.runs), _pct(v.concurrent), _pct(v.unordered), num(v.knowledge_s, 2),
                      num(v.stalest_s, 2), num(v.lamport_lag, 1)] for v in rows]))
    most = max(rows, key=lambda v: v.concurrent)
    least = min(rows, key=lambda v: v.concurrent)
    stale = max(rows, key=lambda v: v.stalest_s)
    doc.bullets([
        f"Concurrency: variant {most.key} ({labels.get(most.key, most.key)}) leaves {_pct(most.concurrent)} of its event "
        f"pairs concurrent, variant {least.key} {_pct(least.concurrent)}: the fewer messages cross between machines, "
        "the more of what the Lamport clocks order is arbitrary.",
        f"Lamport order: in variant {most.key}, {_pct(most.unordered)} of the pairs the clocks order are not causally "
        f"related; in variant {least.key}, {_pct(least.unordered)}.",
        f"Knowledge: variant {stale.key}'s stalest machine pair is {stale.stalest_s:.1f} s behind on average over its "
        f"runs, against a mean Lamport lag of {stale.lamport_lag:.1f}: a small Lamport lag does not mean a machine "
        "knows what the others did."])
    doc.para(EXPLAIN, "muted")
