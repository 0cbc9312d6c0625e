"""The space-time diagram of a run: machines as horizontal lines, events as dots coloured by kind,
messages as arrows from send to receive in god's-eye time (/events/t of both ends), each event's
Lamport clock beside it; hovering an event shows its tick, Lamport clock, vector clock and queue.
docs/spacetime.md.

One time window is drawn (a run can hold millions of events): by default from the start to the
DEFAULT_EVENTS-th event. The picture is inline SVG with its own CSS: zoom (buttons), pan (the
view scrolls) and hover (CSS :hover and :has) need no script and nothing from the network, so the
page works mailed, archived or with scripts off. Vector clocks come from causality.vector_clocks,
computed on the events that can precede the window's end (causality flows forward in time), not on
the whole run.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from clockbench.documents import window
from clockbench.measure.causality import CausalityError, _layout, _sources, vector_clocks
from clockbench.file.schema import KIND_NAMES, RECEIVE, Run, SchemaError, open_run

# The default window holds this many events; a window may hold at most MAX_EVENTS.
DEFAULT_EVENTS = 300
MAX_EVENTS = 5000
# Vector clocks longer than this are shown by their first entries only in the hover box.
MAX_VECTOR_SHOWN = 16

KIND_COLOURS = ("#8a8f98", "#1f6fd1", "#8e44ad", "#e0701b")  # internal, send-one, send-all, receive
ZOOMS = (1, 2, 4, 8)

# Layout of the picture, in SVG user units (px at zoom 1).
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 1100, 84, 24, 46, 56
PLOT_W = WIDTH - LEFT - RIGHT


class WindowError(ValueError):
    """A window that is not inside the run, or holds too many events to draw."""


@dataclass
class Diagram:
    """What the picture shows: the window's events (by machine, then tick) and its messages."""

    path: str
    n_machines: int
    t0: float
    t1: float
    run_start: float
    run_end: float
    total_events: int
    rank: np.ndarray
    tick: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    lamport: np.ndarray
    queue: np.ndarray
    peer: np.ndarray
    msg_tick: np.ndarray
    vc: np.ndarray           # events x machines, the vector clock of each event shown
    # One row per message drawn (send tick at or before t1, receive at or after t0):
    # sender, send tick, send t, receiver, receive tick, receive t.
    messages: np.ndarray

    @property
    def n_events(self) -> int:
        return int(self.rank.size)


def run_extent(run: Run) -> Tuple[float, float]:
    """God's-eye times the run covers: from 0 (or its first event) to its end (or its last event)."""
    t = run.events["t"]
    end = float(run.attrs.get("end_s", 0.0) or 0.0)
    return min(0.0, float(t.min())), max(end, float(t.max()))


def default_window(run: Run, events: int = DEFAULT_EVENTS) -> Tuple[float, float]:
    """From the start of the run to its `events`-th event in god's-eye time (the whole run if
    shorter), so the picture has a few hundred events however long the run is."""
    lo, hi = run_extent(run)
    t = run.events["t"]
    if t.size <= events:
        return lo, hi
    last, after = (float(x) for x in np.partition(t, (events - 1, events))[events - 1:events + 1])
    for digits in range(0, 18):  # the shortest decimal from the last event shown to the next one
        t1 = math.ceil(last * 10 ** digits) / 10 ** digits
        if last <= t1 < after:
            break
    else:
        t1 = last
    return lo, t1 if t1 > lo else hi


def parse_window(text: str) -> Tuple[float, float]:
    """documents/window.py's window, for argparse."""
    try:
        return window.parse_window(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def diagram(run: Run, window: Optional[Tuple[float, float]] = None) -> Diagram:
    """The events and messages of `window` (default_window if None) with their vector clocks.
    WindowError for a window outside the run or too full; CausalityError for a receive whose send
    is not in the file."""
    ev = run.events
    n = run.n_machines
    lo, hi = run_extent(run)
    t0, t1 = window if window is not None else default_window(run)
    if t1 < lo or t0 > hi:
        raise WindowError(f"window {t0:g}:{t1:g} is outside the run, which covers {lo:g}:{hi:g} model s")
    t0, t1 = max(t0, lo), min(t1, hi)  # an open side: the run's start or end
    start, count = _layout(run)
    rows, src = _sources(run, start, count)  # every receive's send: CausalityError if one is missing
    t = ev["t"]
    first = np.array([s + np.searchsorted(t[s:s + c], t0, side="left") for s, c in zip(start, count)])
    last = np.array([s + np.searchsorted(t[s:s + c], t1, side="right") for s, c in zip(start, count)])
    shown = int((last - first).sum())
    if shown > MAX_EVENTS:
        raise WindowError(f"window {t0:g}:{t1:g} holds {shown} events; at most {MAX_EVENTS} are drawn "
                          "(choose a narrower --window)")
    # The events that can precede the window's end: each machine's events up to t1, and (should a
    # clock offset put a send after its receive) every send a kept receive takes, until closed.
    cut = last - start
    rank_of = ev["rank"]
    while True:
        kept = (rows - start[rank_of[rows]]) < cut[rank_of[rows]]
        need = np.zeros(n, dtype=np.int64)
        np.maximum.at(need, rank_of[src[kept]], src[kept] - start[rank_of[src[kept]]] + 1)
        grown = np.maximum(cut, need)
        if np.array_equal(grown, cut):
            break
        cut = grown
    sub_rows = np.concatenate([np.arange(s, s + c) for s, c in zip(start, cut)]).astype(np.int64)
    sub = Run(run.path, run.attrs, run.config, run.machines, {k: v[sub_rows] for k, v in ev.items()},
              run.network, run.missing)
    sub_start = np.concatenate([[0], np.cumsum(cut)[:-1]]).astype(np.int64)
    vc = vector_clocks(sub).clocks if sub_rows.size else np.zeros((0, n), dtype=np.int64)
    pick = np.concatenate([np.arange(f, l) for f, l in zip(first, last)]).astype(np.int64)
    pick_sub = sub_start[rank_of[pick]] + (pick - start[rank_of[pick]])
    # Messages crossing the window: the send at or before t1, the receive at or after t0.
    over = (t[src] <= t1) & (t[rows] >= t0)
    r, s = rows[over], src[over]
    messages = np.column_stack([rank_of[s], ev["tick"][s], t[s], rank_of[r], ev["tick"][r], t[r]]) \
        if r.size else np.zeros((0, 6))
    col = {k: ev[k][pick] for k in ("rank", "tick", "t", "kind", "lamport", "queue", "peer", "msg_tick")}
    return Diagram(run.path, n, float(t0), float(t1), lo, hi, run.n_events, vc=vc[pick_sub],
                   messages=messages, **col)


# ---------------------------------------------------------------------------------------------
# The picture


def _nice_step(span: float, target: int = 8) -> float:
    raw = span / target if span > 0 else 1.0
    base = 10 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 5, 10) if m * base >= raw)


def _fmt(x: float) -> str:
    """A time as the shortest text that reads back as the same number (windows are given so)."""
    return repr(float(x)).removesuffix(".0")


def _vector_text(v: Sequence[int]) -> str:
    head = ", ".join(str(int(x)) for x in v[:MAX_VECTOR_SHOWN])
    return f"[{head}{', ...' if len(v) > MAX_VECTOR_SHOWN else ''}]"


def event_lines(d: Diagram, e: int) -> List[str]:
    """The hover box of event e: what it is, its clocks and its queue."""
    kind = int(d.kind[e])
    lines = [f"machine {int(d.rank[e])}, tick {int(d.tick[e])}: {KIND_NAMES[kind]}",
             f"t = {d.t[e]:.6f} s   Lamport {int(d.lamport[e])}",
             f"vector {_vector_text(d.vc[e])}",
             f"queue {int(d.queue[e])} waiting after it"]
    if kind == RECEIVE:
        lines.append(f"took machine {int(d.peer[e])}'s tick {int(d.msg_tick[e])}")
    elif kind == 1:
        lines.append(f"to machine {int(d.peer[e])}")
    elif kind == 2:
        lines.append("to every peer")
    return lines


def svg(d: Diagram, uid: str = "st", standalone: bool = False) -> str:
    """The diagram as SVG. `uid` prefixes every id (several diagrams on one page); `standalone`
    adds the XML namespace a .svg file needs (inline SVG in HTML does without it).

    Zoom stretches time only: every element sits at its fraction of the window (`--t`, or `--a` to
    `--b` for a message), placed by CSS from the plot's width `--pw`, which the zoom buttons set;
    dots, text and strokes keep their size, and each arrowhead has its angle per zoom (`--r1`...)."""
    n = d.n_machines
    lane = max(22.0, min(70.0, 480.0 / max(n, 1)))
    height = TOP + lane * max(n - 1, 0) + BOTTOM + 20
    span = d.t1 - d.t0

    def f(t: float) -> float:
        return (t - d.t0) / span

    def y(m: int) -> float:
        return TOP + 10 + lane * m

    e_ = html.escape
    ns = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    out = [f'<svg{ns} id="{uid}" class="spacetime" width="{WIDTH}" height="{height:.0f}" role="img" '
           f'font-family="system-ui, sans-serif" font-size="11">',
           f"<title>Space-time diagram of {e_(os.path.basename(d.path))}, model time {_fmt(d.t0)} to "
           f"{_fmt(d.t1)} s</title>",
           "<style>" + _svg_css(uid, d.n_events) + "</style>",
           '<rect x="0" y="0" width="100%" height="100%" fill="#fff"/>']
    # Legend.
    lx = LEFT
    for k, name in enumerate(KIND_NAMES):
        out.append(f'<circle cx="{lx + 5}" cy="16" r="5" fill="{KIND_COLOURS[k]}"/>'
                   f'<text x="{lx + 14}" y="20">{name}</text>')
        lx += 24 + 7 * len(name)
    out.append(f'<line x1="{lx}" y1="16" x2="{lx + 30}" y2="16" class="msg-key"/>'
               f'<path d="M{lx + 30},16 l-8,-3.5 v7 z" fill="#4a5568"/>'
               f'<text x="{lx + 36}" y="20">message (send to receive)</text>'
               f'<text x="{lx + 210}" y="20" fill="#5b6472">numbers: Lamport clocks</text>')
    # Time axis and grid: ticks at a round step, finer ones shown when zoomed in.
    step = _nice_step(span)
    axis_y = y(n - 1) + 22
    for sub, cls in ((step, ""), (step / 5, " fine")):
        k0, k1 = math.ceil(d.t0 / sub - 1e-9), math.floor(d.t1 / sub + 1e-9)
        for k in range(k0, k1 + 1):
            if cls and k % 5 == 0:
                continue
            g = round(k * sub, 12)
            out.append(f'<g class="at{cls}" style="--t:{f(g):.7f}"><line x1="0" y1="{TOP - 6}" x2="0" '
                       f'y2="{axis_y:.1f}" class="grid"/><text x="0" y="{axis_y + 14:.1f}" text-anchor="middle">'
                       f"{_fmt(g)}</text></g>")
    out.append(f'<text x="{LEFT + 10}" y="{axis_y + 32:.1f}" fill="#5b6472">'
               "god's-eye model time (s) &#8594;</text>")
    # Machines.
    for m in range(n):
        out.append(f'<line x1="0" y1="{y(m):.1f}" x2="1" y2="{y(m):.1f}" class="lane"/>'
                   f'<text x="{LEFT - 8}" y="{y(m) + 4:.1f}" text-anchor="end" font-weight="600">'
                   f"machine {m}</text>")
    # Messages, cut at the window's edges (in time, so the cut holds at every zoom).
    for snd, stick, st, rcv, rtick, rt in d.messages:
        a, b, ya, yb = f(st), f(rt), y(int(snd)), y(int(rcv))
        head = b <= 1.0
        if a < 0.0 and b > a:
            ya, a = ya + (yb - ya) * (0.0 - a) / (b - a), 0.0
        if b > 1.0 and b > a:
            yb, b = ya + (yb - ya) * (1.0 - a) / (b - a), 1.0
        title = (f"<title>message: machine {int(snd)} tick {int(stick)} to machine {int(rcv)} tick "
                 f"{int(rtick)}</title>")
        out.append(f'<line x1="0" y1="{ya:.2f}" x2="1" y2="{yb:.2f}" class="msg" style="--a:{a:.7f};--b:{b:.7f}">'
                   f"{title}</line>")
        if head:
            angles = ";".join(f"--r{z}:{math.degrees(math.atan2(yb - ya, (b - a) * PLOT_W * z)):.2f}deg"
                              for z in ZOOMS)
            out.append(f'<path d="M0,0 l-8,-3.5 v7 z" class="head" style="--t:{b:.7f};--y:{yb:.2f}px;{angles}"/>')
    # Events, with their Lamport clocks above them.
    out.append('<g class="events">')
    for e in range(d.n_events):
        ey, k = y(int(d.rank[e])), int(d.kind[e])
        tip = e_("\n".join(event_lines(d, e)))
        out.append(f'<g id="{uid}-e{e}" class="ev at" style="--t:{f(float(d.t[e])):.7f}"><circle cx="0" '
                   f'cy="{ey:.1f}" r="4.5" fill="{KIND_COLOURS[k]}"><title>{tip}</title></circle>'
                   f'<text x="0" y="{ey - 8:.1f}" text-anchor="middle" class="lam">{int(d.lamport[e])}</text></g>')
    out.append("</g>")
    # Hover boxes, drawn last so that they lie on top; shown by the CSS of _svg_css.
    out.append('<g class="tips">')
    for e in range(d.n_events):
        lines = event_lines(d, e)
        w = 12 + 6.6 * max(len(s) for s in lines)
        h = 8 + 15 * len(lines)
        te, ey = f(float(d.t[e])), y(int(d.rank[e]))
        bx = 10.0 if te < 0.6 else -10.0 - w
        by = min(max(2.0, ey + 10), height - h - 2)
        text = "".join(f'<tspan x="{bx + 6:.1f}" dy="{15 if i else 0}">{e_(s)}</tspan>' for i, s in enumerate(lines))
        out.append(f'<g id="{uid}-t{e}" class="tip at" style="--t:{te:.7f}"><rect x="{bx:.1f}" y="{by:.1f}" '
                   f'width="{w:.0f}" height="{h}" rx="4"/><text y="{by + 16:.1f}" font-family="monospace">{text}'
                   "</text></g>")
    out.append("</g></svg>")
    return "\n".join(out)


def _svg_css(uid: str, events: int) -> str:
    """The picture's own CSS: where each element sits at the plot width --pw (user units), lines
    and labels, and each hover box shown while its event is hovered."""
    at = f"calc({LEFT}px + var(--t) * var(--pw) * 1px)"
    base = (f"#{uid}{{--pw:{PLOT_W};width:calc(var(--pw) * 1px + {LEFT + RIGHT}px)}} "
            f"#{uid} .at{{transform:translateX({at})}} "
            f"#{uid} .fine{{display:none}} #{uid} .fine text{{font-size:9px;fill:#5b6472}} "
            f"#{uid} .lane{{transform:translateX({LEFT}px) scaleX(var(--pw));stroke:#1d2330;stroke-width:1.5;"
            "vector-effect:non-scaling-stroke} "
            f"#{uid} .grid{{stroke:#e3e7ee;stroke-width:1}} "
            f"#{uid} .msg{{transform:translateX(calc({LEFT}px + var(--a) * var(--pw) * 1px)) "
            "scaleX(calc((var(--b) - var(--a)) * var(--pw)));stroke:#4a5568;stroke-width:1;opacity:.55;"
            "vector-effect:non-scaling-stroke} "
            f"#{uid} .msg-key{{stroke:#4a5568;stroke-width:1;opacity:.55}} "
            f"#{uid} .head{{fill:#4a5568;opacity:.8;transform:translate({at}, var(--y)) rotate(var(--r1))}} "
            f"#{uid} .lam{{font-size:9px;fill:#1d2330}} #{uid} .ev{{cursor:pointer}} "
            f"#{uid} .ev:hover circle{{stroke:#000;stroke-width:2}} "
            f"#{uid} .tip{{display:none;pointer-events:none}} "
            f"#{uid} .tip rect{{fill:#fffef2;stroke:#1d2330;stroke-width:1;opacity:.97}} "
            f"#{uid} .tip text{{fill:#1d2330}}")
    shows = "".join(f"#{uid}:has(#{uid}-e{e}:hover) #{uid}-t{e}{{display:inline}}" for e in range(events))
    return base + shows


def html_section(d: Diagram, uid: str = "st") -> str:
    """The diagram for an HTML page: zoom buttons (time stretched 1x to 8x), a view that scrolls
    to pan, the inline SVG."""
    zoom = "".join(f'<input type="radio" name="{uid}-zoom" id="{uid}-z{z}" class="st-z"'
                   f'{" checked" if z == 1 else ""}>' for z in ZOOMS)
    labels = " ".join(f'<label for="{uid}-z{z}">{z}&times;</label>' for z in ZOOMS)
    at = f"calc({LEFT}px + var(--t) * var(--pw) * 1px)"
    rules = []
    for z in ZOOMS:
        on = f"#{uid}-z{z}:checked~"
        rules.append(f"{on}.st-bar label[for={uid}-z{z}]{{background:#1d2330;color:#fff}} "
                     f"{on}.st-view #{uid}{{--pw:{PLOT_W * z}}} "
                     f"{on}.st-view #{uid} .head{{transform:translate({at}, var(--y)) rotate(var(--r{z}))}}"
                     + (f" {on}.st-view #{uid} .fine{{display:inline}}" if z >= 4 else ""))
    css = ("<style>.st-wrap{text-align:left} .st-z{position:absolute;opacity:0;width:0;height:0} "
           ".st-bar label{display:inline-block;padding:1px 9px;margin-right:3px;border:1px solid #c3cad6;"
           "border-radius:3px;cursor:pointer;user-select:none;background:#f3f6fb} "
           ".st-view{overflow:auto;max-height:85vh;border:1px solid #d5dae2;margin:.4em 0} "
           ".st-view svg{display:block} " + " ".join(rules) + "</style>")
    return (f'<div class="st-wrap">{css}{zoom}<div class="st-bar">zoom: {labels} '
            f'<span class="st-help">(stretches time; scroll the picture to pan; hover an event for its clocks and '
            f'queue)</span></div><div class="st-view" id="{uid}-view">{svg(d, uid)}</div></div>')


def caption(d: Diagram) -> str:
    return (f"Space-time diagram of {os.path.basename(d.path)}: model time {_fmt(d.t0)} to {_fmt(d.t1)} s "
            f"({d.n_events} of the run's {d.total_events} events, {len(d.messages)} messages; the run covers "
            f"{_fmt(d.run_start)} to {_fmt(d.run_end)} s). Machines are lines, dots events coloured by kind, "
            "arrows messages from send to receive in god's-eye time, numbers Lamport clocks.")


def page(d: Diagram) -> str:
    """A self-contained HTML page of the diagram (the `spacetime` command)."""
    from clockbench.documents.document import Document
    doc = Document(f"Space-time diagram: {os.path.basename(d.path)}", caption(d))
    doc.raw_html(html_section(d), "", b"", "")
    return doc.to_html()


# ---------------------------------------------------------------------------------------------
# The report's section and the command


def add_section(doc, path: str, prefix: str) -> None:
    """The report's space-time section of the run in `path`, with the default window."""
    try:
        d = diagram(open_run(path))
    except (SchemaError, CausalityError, WindowError) as exc:
        doc.para(f"No space-time diagram: {exc}", "banner")
        return
    doc.raw_html(html_section(d, f"{prefix}-st"), f"{prefix}-spacetime.svg",
                 svg(d, f"{prefix}-st", standalone=True).encode("utf-8"), caption(d))


def cmd_spacetime(args: argparse.Namespace) -> int:
    prog = "clockbench-analyze"
    out = args.output or os.path.splitext(os.path.basename(args.file))[0] + "-spacetime.html"
    try:
        if os.path.exists(out) and not args.force:
            raise ValueError(f"{out} exists (use --force to overwrite it)")
        run = open_run(args.file)
        d = diagram(run, args.window)
        del run
        text = svg(d, standalone=True) if out.lower().endswith(".svg") else page(d)
        folder = os.path.dirname(os.path.abspath(out))
        fd, tmp = tempfile.mkstemp(prefix=".spacetime-", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
            os.replace(tmp, out)
        except BaseException:
            os.unlink(tmp)
            raise
    except SchemaError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except (CausalityError, WindowError) as exc:
        print(f"{prog}: error: {args.file}: {exc}", file=sys.stderr, flush=True)
        return 2
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except OSError as exc:
        print(f"{prog}: error: {out}: cannot write ({exc.strerror or exc})", file=sys.stderr, flush=True)
        return 2
    print(f"space-time diagram of {d.n_events} events and {len(d.messages)} messages, model time "
          f"{_fmt(d.t0)} to {_fmt(d.t1)} s, written to {out}", flush=True)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "spacetime", help="space-time diagram of a run (HTML with zoom and hover, or SVG)",
        description="Draw machines as lines, events as dots coloured by kind, messages as arrows from send to "
        "receive in god's-eye time, with each event's Lamport clock; in the HTML, zoom buttons, a view that "
        "scrolls to pan, and hovering an event shows its tick, Lamport clock, vector clock and queue. One window "
        f"of time: by default from the start to the {DEFAULT_EVENTS}th event. docs/spacetime.md.")
    p.add_argument("file", metavar="FILE", help="clockbench .h5 file")
    p.add_argument("-o", "--output", metavar="OUT", help="OUT.html (a self-contained page) or OUT.svg "
                   "(default: <file stem>-spacetime.html)")
    p.add_argument("--window", type=parse_window, metavar="T0:T1",
                   help=f"model seconds to draw (default: the first {DEFAULT_EVENTS} events; at most "
                   f"{MAX_EVENTS} events)")
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(func=cmd_spacetime)
