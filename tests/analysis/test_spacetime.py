"""`clockbench-analyze spacetime` and the report's space-time section: every event of the window is
drawn once on its machine's line with its Lamport clock, every message crossing the window is an
arrow from its send to its receive, and each hover box holds the event's tick, queue and vector
clock; the vector clocks and the expected sets are computed here by a textbook simulation of the
file, not by the package. Bad input: one line, exit 2, nothing written."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Tuple

import h5py
import numpy as np
import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

from clockbench.file.schema import open_run
from clockbench.documents.spacetime import DEFAULT_EVENTS, MAX_EVENTS

RECEIVE = 3
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    folder = tmp_path_factory.mktemp("st")
    return {
        # The classic rates: machine 0's queue backs up, so its arrows get long.
        "classic": write_run(folder / "classic.h5", from_replay(replay((1, 2, 6), 5, 60.0, 0.7, "full", "random",
                                                                      "0.05"))),
        # Five machines on a ring, random latency: sends cross each other.
        "ring": write_run(folder / "ring.h5", from_replay(replay((3, 4, 8, 5, 2), 6, 30.0, 0.5, "ring", "random",
                                                                 "exp:0.2"))),
    }


def textbook_vector_clocks(path: Path) -> Dict[Tuple[int, int], List[int]]:
    """(machine, tick) -> vector clock, by running the machines' events in any order that takes a
    message only after its send: own entry +1 on every event, entry-wise max with the send's on a receive."""
    run = open_run(path)
    ev = run.events
    n = run.n_machines
    by_machine = [np.flatnonzero(ev["rank"] == m) for m in range(n)]
    done: Dict[Tuple[int, int], List[int]] = {}
    pos = [0] * n
    clock = [[0] * n for _ in range(n)]
    progress = True
    while progress:
        progress = False
        for m in range(n):
            while pos[m] < len(by_machine[m]):
                r = by_machine[m][pos[m]]
                v = clock[m]
                if ev["kind"][r] == RECEIVE:
                    key = (int(ev["peer"][r]), int(ev["msg_tick"][r]))
                    if key not in done:
                        break
                    v = [max(a, b) for a, b in zip(v, done[key])]
                v = list(v)
                v[m] += 1
                clock[m] = v
                done[(m, int(ev["tick"][r]))] = v
                pos[m] += 1
                progress = True
    assert len(done) == run.n_events
    return done


def svg_of(page: str) -> ET.Element:
    """The inline SVG of an HTML page, parsed as XML."""
    found = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(found) == 1
    return ET.fromstring(found[0])


def style(el: ET.Element) -> Dict[str, float]:
    """The custom properties of an element's style: where it sits in the window (0 to 1)."""
    return {k.strip(): float(v) for k, v in (p.split(":") for p in el.get("style", "").split(";") if p)
            if k.strip() in ("--t", "--a", "--b")}


def drawn(root: ET.Element, ns: str = "") -> Dict[str, object]:
    """What the picture shows: events (machine, tick) -> (Lamport label, colour, hover lines), arrows."""
    events = {}
    tips = {g.get("id").rsplit("-t", 1)[1]: ["".join(t.itertext()) for t in g.iter(f"{ns}tspan")]
            for g in root.iter(f"{ns}g") if "tip" in (g.get("class") or "").split()}
    for g in root.iter(f"{ns}g"):
        if "ev" not in (g.get("class") or "").split():
            continue
        e = g.get("id").rsplit("-e", 1)[1]
        lines = tips[e]
        m = re.match(r"machine (\d+), tick (\d+): (\S+)$", lines[0])
        key = (int(m.group(1)), int(m.group(2)))
        assert key not in events, key
        label = g.find(f"{ns}text").text
        colour = g.find(f"{ns}circle").get("fill")
        cy = float(g.find(f"{ns}circle").get("cy"))
        events[key] = (int(label), colour, lines, style(g)["--t"], cy, m.group(3))
    arrows = []
    for line in root.iter(f"{ns}line"):
        if line.get("class") == "msg" and line.find(f"{ns}title") is not None:
            m = re.match(r"message: machine (\d+) tick (\d+) to machine (\d+) tick (\d+)$",
                         line.find(f"{ns}title").text)
            st = style(line)
            arrows.append(((int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4))),
                           (st["--a"], float(line.get("y1")), st["--b"], float(line.get("y2")))))
    return {"events": events, "arrows": arrows}


def expected(path: Path, t0: float, t1: float):
    """Events with t0 <= t <= t1, and messages whose send is at or before t1 and receive at or after t0."""
    run = open_run(path)
    ev = run.events
    inside = (ev["t"] >= t0) & (ev["t"] <= t1)
    events = {(int(ev["rank"][r]), int(ev["tick"][r])) for r in np.flatnonzero(inside)}
    t_of = {(int(a), int(b)): float(c) for a, b, c in zip(ev["rank"], ev["tick"], ev["t"])}
    messages = set()
    for r in np.flatnonzero(ev["kind"] == RECEIVE):
        send = (int(ev["peer"][r]), int(ev["msg_tick"][r]))
        if t_of[send] <= t1 and ev["t"][r] >= t0:
            messages.add((send, (int(ev["rank"][r]), int(ev["tick"][r]))))
    return run, events, messages


def window_of(out: str) -> Tuple[float, float]:
    m = re.search(r"model time (\S+) to (\S+) s, written", out)
    return float(m.group(1)), float(m.group(2))


def check_picture(path: Path, root: ET.Element, t0: float, t1: float, ns: str = "") -> Dict[str, object]:
    run, want_events, want_messages = expected(path, t0, t1)
    got = drawn(root, ns)
    assert set(got["events"]) == want_events
    assert {(s, r) for s, r, _ in got["arrows"]} == want_messages
    vc = textbook_vector_clocks(path)
    ev = run.events
    row = {(int(a), int(b)): i for i, (a, b) in enumerate(zip(ev["rank"], ev["tick"]))}
    kinds = ("internal", "send-one", "send-all", "receive")
    lane_y = {}
    for key, (label, colour, lines, cx, cy, kind) in got["events"].items():
        r = row[key]
        assert label == ev["lamport"][r]
        assert kind == kinds[ev["kind"][r]]
        assert f"Lamport {ev['lamport'][r]}" in lines[1]
        assert lines[2] == "vector [" + ", ".join(map(str, vc[key])) + "]", key
        assert lines[3] == f"queue {ev['queue'][r]} waiting after it"
        assert lane_y.setdefault(key[0], cy) == cy  # one line per machine
    colours = {}
    for key, (_, colour, _, _, _, kind) in got["events"].items():
        assert colours.setdefault(kind, colour) == colour
    assert len(set(colours.values())) == len(colours)  # each kind its own colour
    ys = [lane_y[m] for m in sorted(lane_y)]
    assert ys == sorted(ys) and len(set(ys)) == len(ys)
    # Each event sits at its god's-eye time's fraction of the window (the picture's x at every zoom);
    # every arrow starts at its send's dot and ends at its receive's, cut at the window's edges.
    xs = {k: v[3] for k, v in got["events"].items()}
    for k, x in xs.items():
        assert x == pytest.approx((float(ev["t"][row[k]]) - t0) / (t1 - t0), abs=1e-6)
    lane_of = {m: y for m, y in lane_y.items()}
    for s, r, (a, y1, b, y2) in got["arrows"]:
        if s in xs:
            assert (a, y1) == pytest.approx((xs[s], lane_of[s[0]]), abs=1e-6)
        else:
            assert a == 0.0 and min(lane_of[s[0]], lane_of[r[0]]) <= y1 <= max(lane_of[s[0]], lane_of[r[0]])
        if r in xs:
            assert (b, y2) == pytest.approx((xs[r], lane_of[r[0]]), abs=1e-6)
        else:
            assert b == 1.0 and min(lane_of[s[0]], lane_of[r[0]]) <= y2 <= max(lane_of[s[0]], lane_of[r[0]])
    return got


@pytest.mark.parametrize("name", ["classic", "ring"])
def test_default_window_html(runs, name: str, tmp_path: Path, cli) -> None:
    out = tmp_path / "st.html"
    res = cli("spacetime", runs[name], "-o", out)
    assert res.code == 0, res.err
    assert res.err == ""
    page = out.read_text(encoding="utf-8")
    # Self-contained: nothing from the network, no script needed.
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page and "<link" not in page and "src=" not in page
    t0, t1 = window_of(res.out)
    run = open_run(runs[name])
    assert t0 == pytest.approx(0.0)
    assert run.n_events > DEFAULT_EVENTS
    got = check_picture(runs[name], svg_of(page), t0, t1)
    assert len(got["events"]) == DEFAULT_EVENTS  # no ties in the model's deadlines here
    assert len(got["arrows"]) > 20
    # Zoom: one button per zoom level, each stretching time (the plot's width) by its factor.
    for z in (1, 2, 4, 8):
        assert f'<label for="st-z{z}">{z}&times;</label>' in page
        assert f"#st-z{z}:checked~.st-view #st{{--pw:{992 * z}}}" in page
    # Hover: one rule per event showing its box.
    assert len(re.findall(r"#st:has\(#st-e\d+:hover\) #st-t\d+\{display:inline\}", page)) == DEFAULT_EVENTS


def test_window_and_svg_output(runs, tmp_path: Path, cli) -> None:
    out = tmp_path / "st.svg"
    res = cli("spacetime", runs["ring"], "-o", out, "--window", "10:12.5")
    assert res.code == 0, res.err
    assert window_of(res.out) == (10.0, 12.5)
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG_NS}svg"
    got = check_picture(runs["ring"], root, 10.0, 12.5, SVG_NS)
    # Arrows that cross the window's edges are kept (clipped to it), not dropped.
    run = open_run(runs["ring"])
    t_of = {(int(a), int(b)): float(c) for a, b, c in zip(run.events["rank"], run.events["tick"], run.events["t"])}
    assert any(t_of[s] < 10.0 for s, _, _ in got["arrows"])
    assert any(t_of[r] > 12.5 for _, r, _ in got["arrows"])


def test_partial_run_is_drawn(runs, tmp_path: Path, cli) -> None:
    stopped = tmp_path / "stopped.h5"
    stopped.write_bytes(runs["classic"].read_bytes())
    with h5py.File(stopped, "r+") as f:
        f.attrs["completed"] = np.int32(0)
        f.attrs["stop_reason"] = "SIGTERM on rank 1"
    res = cli("spacetime", stopped, "-o", tmp_path / "st.html", "--window", "50:60")
    assert res.code == 0, res.err
    check_picture(stopped, svg_of((tmp_path / "st.html").read_text()), 50.0, 60.0)


def one_error(res, *words: str) -> None:
    assert res.code == 2
    assert res.out == ""
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    assert len(lines) == 1, res.err
    assert re.match(r"clockbench-analyze( spacetime)?: error: ", lines[0]), res.err
    for w in words:
        assert w in lines[0], (w, lines[0])


@pytest.mark.parametrize("window, words", [
    ("61:70", ["outside the run", "0:60"]),
    ("-9:-1", ["outside the run"]),
    ("0:600", []),               # inside, but the whole run is fewer than MAX_EVENTS: fine (below)
    ("5:1", ["T0 must be below T1"]),
    ("a:b", ["T0:T1"]),
    ("3", ["T0:T1"]),
])
def test_bad_windows(runs, tmp_path: Path, cli, window: str, words) -> None:
    out = tmp_path / "st.html"
    res = cli("spacetime", runs["classic"], "-o", out, f"--window={window}")
    if not words:
        assert res.code == 0, res.err
        return
    one_error(res, *words)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_too_many_events_is_refused(tmp_path: Path, cli) -> None:
    big = write_run(tmp_path / "big.h5", from_replay(replay((40, 50, 60), 3, 40.0)))
    assert open_run(big).n_events > MAX_EVENTS
    out = tmp_path / "st.html"
    one_error(cli("spacetime", big, "-o", out, "--window", "0:40"), f"at most {MAX_EVENTS}", "--window")
    assert not out.exists()
    res = cli("spacetime", big, "-o", out)  # the default window still works
    assert res.code == 0, res.err


def test_missing_send_and_existing_output(runs, tmp_path: Path, cli) -> None:
    broken = tmp_path / "broken.h5"
    broken.write_bytes(runs["ring"].read_bytes())
    with h5py.File(broken, "r+") as f:
        kind = f["events/kind"][()]
        r = int(np.flatnonzero(kind == RECEIVE)[-1])  # the last receive: outside the default window
        msg_tick = f["events/msg_tick"][()]
        msg_tick[r] = 10 ** 6
        f["events/msg_tick"][...] = msg_tick
    out = tmp_path / "st.html"
    one_error(cli("spacetime", broken, "-o", out), str(broken), "not a send in the file")
    assert not out.exists()

    out.write_text("keep me\n")
    one_error(cli("spacetime", runs["ring"], "-o", out), str(out), "--force")
    assert out.read_text() == "keep me\n"
    res = cli("spacetime", runs["ring"], "-o", out, "--force")
    assert res.code == 0, res.err
    assert "<svg" in out.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.h5", "st.html"]  # no temporary left

    one_error(cli("spacetime", tmp_path / "nothing.h5", "-o", tmp_path / "x.html"), "no such file")
    assert not (tmp_path / "x.html").exists()


def test_report_has_a_diagram_per_run(runs, tmp_path: Path, cli) -> None:
    res = cli("report", runs["classic"], runs["ring"], "-o", tmp_path / "rep")
    assert res.code == 0, res.err
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert page.count('>Space-time diagram</h3>') == 2
    assert "<script" not in page and "http://" not in page and "https://" not in page
    for k, name in ((1, "classic"), (2, "ring")):
        section = page.split(f">Run {k}: {name}.h5</h2>")[1].split("Space-time diagram</h3>")[1].split("<h3")[0]
        root = svg_of(section)
        assert root.get("id") == f"run{k}-st"
        default = cli("spacetime", runs[name], "-o", tmp_path / f"{name}.html")
        t0, t1 = window_of(default.out)
        got = check_picture(runs[name], root, t0, t1)
        assert len(got["events"]) == DEFAULT_EVENTS
        assert f"#run{k}-st-z4:checked~.st-view #run{k}-st{{--pw:{4 * 992}}}" in section
        # The Markdown links the same picture as an SVG file beside it.
        svg_file = tmp_path / "rep" / f"run{k}-spacetime.svg"
        assert ET.parse(svg_file).getroot().tag == f"{SVG_NS}svg"
        assert f"(run{k}-spacetime.svg)" in (tmp_path / "rep" / "report.md").read_text(encoding="utf-8")
