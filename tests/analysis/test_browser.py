"""The report, the lab notebook and a `spacetime` page opened in a real browser: headless Chromium
(Debian's `chromium`, installed by scripts/install-deps) loads each with no console errors and no
failed loads, every plot renders (each image and each space-time diagram, cut out of a screenshot,
is not blank), and hovering an event and pressing a zoom button change the space-time diagram.

Chromium is driven over the DevTools protocol (a websocket, Debian's python3-websocket), as root with
--no-sandbox and a private profile. A first test feeds the checks a page with a script error, a
blank image and a diagram that does not react, and shows that each is caught."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from conftest import write_run
from model_sim import from_replay
from replay import replay

INSTALL = "scripts/install-deps"
TIMEOUT_S = 60.0  # for one step of the browser (start, load, answer); a hung browser fails, not hangs


def _need(module: str, package: str):
    try:
        return __import__(module)
    except ImportError:
        pytest.fail(f"the browser test needs Python's {module} (Debian's {package}): run {INSTALL}", pytrace=False)


class Browser:
    """One headless Chromium and one page, over the DevTools protocol."""

    def __init__(self, profile: Path) -> None:
        websocket = _need("websocket", "python3-websocket")
        exe = shutil.which("chromium")
        if exe is None:
            pytest.fail(f"chromium is not installed (Debian's chromium package): run {INSTALL}", pytrace=False)
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", f"--user-data-dir={profile}", "--remote-debugging-port=0",
             "--remote-allow-origins=*", "--no-first-run", "--no-default-browser-check", "--disable-gpu",
             "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
             "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            port = self._port(profile / "DevToolsActivePort")
            deadline = time.monotonic() + TIMEOUT_S
            while True:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=TIMEOUT_S) as r:
                    pages = [t for t in json.load(r) if t.get("type") == "page"]
                if pages or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert pages, "chromium opened no page"
            self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=TIMEOUT_S,
                                                  suppress_origin=True)
        except BaseException:
            self.close()
            raise
        self.next_id = 0
        self.events: List[Dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)

    def _port(self, path: Path) -> int:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"chromium exited with status {self.proc.returncode} at start", pytrace=False)
            try:
                return int(path.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                time.sleep(0.05)
        pytest.fail(f"chromium did not open its DevTools port within {TIMEOUT_S:g} s", pytrace=False)

    def call(self, method: str, **params: Any) -> Dict[str, Any]:
        """Sends a command and returns its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str) -> None:
        while not any(e["method"] == method for e in self.events):
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.js("document.fonts.ready.then(() => 1)")  # text laid out before anything is measured

    def js(self, expression: str) -> Any:
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise AssertionError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def problems(self) -> List[str]:
        """Console errors and warnings, uncaught exceptions, failed loads since the page was opened."""
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append("exception: " + p["exceptionDetails"].get("exception", {}).get(
                    "description", p["exceptionDetails"].get("text", "")))
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
                out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description")))
                                                               for a in p.get("args", [])))
            elif e["method"] == "Log.entryAdded" and p["entry"].get("level") in ("error", "warning"):
                out.append(f"log {p['entry']['level']} ({p['entry'].get('source')}): {p['entry'].get('text')}")
        return out

    def box(self, selector: str, scroll: bool = True) -> Dict[str, float]:
        """The element's box in page (x, y) and viewport (vx, vy) coordinates, scrolled into view
        unless `scroll` is False."""
        return self.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; if ({json.dumps(scroll)}) e.scrollIntoView({{block: 'center', inline: 'center'}});
            const r = e.getBoundingClientRect();
            return {{x: r.x + scrollX, y: r.y + scrollY, vx: r.x, vy: r.y, width: r.width, height: r.height}}; }})()""")

    def shot(self, selector: str, scroll: bool = True):
        """The element as the browser painted it (a PIL image); not scrolled (so that the mouse
        stays where it is) when `scroll` is False."""
        image = _need("PIL.Image", "python3-pil").Image
        b = self.box(selector, scroll)
        assert b is not None and b["width"] >= 1 and b["height"] >= 1, (selector, b)
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=False,
                         clip={"x": b["x"], "y": b["y"], "width": b["width"], "height": b["height"], "scale": 1})
        return image.open(io.BytesIO(base64.b64decode(data["data"]))).convert("RGB")

    def shot_nth(self, tag: str, k: int):
        """The k-th element of that tag, painted."""
        self.js(f"document.querySelectorAll({json.dumps(tag)})[{k}].setAttribute('data-shot', '1')")
        try:
            return self.shot(f"{tag}[data-shot]")
        finally:
            self.js(f"document.querySelectorAll({json.dumps(tag)})[{k}].removeAttribute('data-shot')")

    def mouse(self, kind: str, x: float, y: float) -> None:
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left" if kind != "mouseMoved" else "none",
                  clickCount=1 if kind != "mouseMoved" else 0)

    def click(self, selector: str) -> None:
        b = self.box(selector)
        x, y = b["vx"] + b["width"] / 2, b["vy"] + b["height"] / 2
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y)
        self.mouse("mouseReleased", x, y)

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # the browser we started, and its helpers (its own session)
            try:
                self.proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.close()


def blank_reason(img) -> Optional[str]:
    """Why a painted element looks blank, or None: a plot has ink (pixels off the background) over
    a fair part of it and more than a handful of colours."""
    colours = img.getcolors(maxcolors=1 << 16)
    n_colours = len(colours) if colours is not None else 1 << 16
    background = max(colours)[1] if colours is not None else None
    pixels = img.width * img.height
    ink = pixels - (max(colours)[0] if colours is not None else 0)
    if n_colours < 8 or ink < 0.01 * pixels:
        return f"{img.width}x{img.height} px, {n_colours} colours, {ink} px off the background {background}"
    return None


def changed_pixels(a, b) -> int:
    from PIL import ImageChops
    if a.size != b.size:
        return max(a.width * a.height, b.width * b.height)
    diff = ImageChops.difference(a, b).convert("L")
    return sum(diff.point(lambda v: 255 if v > 16 else 0).histogram()[255:])


def check_page(b: Browser, page: Path) -> Dict[str, Any]:
    """Loads the page; every check's failure as a message (empty: all good)."""
    b.open(page)
    failures = [f"{page.name}: {p}" for p in b.problems()]
    images = b.js("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    for k, (complete, width, alt) in enumerate(images):
        if not complete or width == 0:
            failures.append(f"{page.name}: image {k + 1} ({alt[:60]}) did not load")
            continue
        reason = blank_reason(b.shot_nth("img", k))
        if reason:
            failures.append(f"{page.name}: image {k + 1} ({alt[:60]}) is blank: {reason}")
    diagrams = b.js("Array.from(document.querySelectorAll('svg.spacetime')).map(s => s.id)")
    for uid in diagrams:
        reason = blank_reason(b.shot(f"#{uid}"))
        if reason:
            failures.append(f"{page.name}: space-time diagram {uid} is blank: {reason}")
    return {"failures": failures, "images": len(images), "diagrams": diagrams}


def interaction_failures(b: Browser, uid: str) -> List[str]:
    """Hovering an event shows its box (and changes the picture); the 4x button widens the picture."""
    failures = []
    events = b.js(f"document.querySelectorAll('#{uid} g.ev').length")
    if not events:
        return [f"{uid}: no events drawn"]
    e = events // 2
    before = b.shot(f"#{uid}")  # scrolled into view; from here on nothing scrolls
    c = b.box(f"#{uid}-e{e} circle", scroll=False)
    b.mouse("mouseMoved", c["vx"] + c["width"] / 2, c["vy"] + c["height"] / 2)
    tip = b.js(f"(() => {{ const t = document.getElementById('{uid}-t{e}'); "
               "return [getComputedStyle(t).display, t.textContent]; })()")
    after = b.shot(f"#{uid}", scroll=False)
    if tip[0] == "none":
        failures.append(f"{uid}: hovering event {e} does not show its box")
    elif "vector [" not in tip[1] or "queue" not in tip[1] or "Lamport" not in tip[1]:
        failures.append(f"{uid}: event {e}'s box lacks its clocks or queue: {tip[1]!r}")
    if changed_pixels(before, after) < 200:
        failures.append(f"{uid}: hovering event {e} changes {changed_pixels(before, after)} px of the picture")
    b.mouse("mouseMoved", 1, 1)
    if b.box(f"label[for='{uid}-z4']") is None:
        return failures + [f"{uid}: no 4x zoom button"]
    spread = (f"(() => {{ const c = Array.from(document.querySelectorAll('#{uid} g.ev circle'))"
              ".map(e => e.getBoundingClientRect()); const x = c.map(r => r.x);"
              "return [document.getElementById('" + uid + "').getBoundingClientRect().width,"
              " Math.max(...x) - Math.min(...x), c[0].width]; })()")
    width, apart, dot = b.js(spread)
    b.click(f"label[for='{uid}-z4']")
    wide, apart4, dot4 = b.js(spread)
    if not wide > 3.5 * width:
        failures.append(f"{uid}: the 4x button makes the picture {wide:.0f} px wide, from {width:.0f} px")
    if not (apart4 == pytest.approx(4 * apart, rel=0.01) and dot4 == pytest.approx(dot, abs=0.5)):
        failures.append(f"{uid}: the 4x button moves the events {apart:.0f} -> {apart4:.0f} px apart and their "
                        f"dots {dot:.1f} -> {dot4:.1f} px wide (want time 4x, dots as they were)")
    view = b.js(f"(() => {{ const v = document.getElementById('{uid}-view'); v.scrollLeft = v.scrollWidth / 3; "
                "return v.scrollLeft; })()")
    if not view > 0:
        failures.append(f"{uid}: the zoomed picture cannot be panned (scrollLeft {view})")
    b.click(f"label[for='{uid}-z1']")
    return failures


def _runs(folder: Path) -> List[Path]:
    return [write_run(folder / "classic.h5", from_replay(replay((1, 2, 6), 5, 60.0, 0.7, "full", "random", "0.05"))),
            write_run(folder / "ring.h5", from_replay(replay((3, 4, 8, 5, 2), 6, 30.0, 0.5, "ring", "random",
                                                             "exp:0.2")))]


def test_the_checks_catch_a_broken_page(browser: Browser, tmp_path: Path) -> None:
    """Planted defects: a script error, a blank image, a diagram that does not react to hover or zoom."""
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(buf, format="PNG")
    blank = base64.b64encode(buf.getvalue()).decode("ascii")
    page = tmp_path / "broken.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>t</title></head><body>'
                    f'<img src="data:image/png;base64,{blank}" alt="blank plot">'
                    '<svg id="x" class="spacetime" width="400" height="100"><g id="x-e0" class="ev">'
                    '<circle cx="50" cy="50" r="5"/></g><g id="x-t0" class="tip" style="display:none">'
                    '<text>vector [1] queue 0 Lamport 1</text></g></svg>'
                    '<script>no_such_function();</script></body></html>')
    got = check_page(browser, page)
    text = "\n".join(got["failures"])
    assert "no_such_function is not defined" in text, text
    assert "image 1 (blank plot) is blank" in text, text
    assert "space-time diagram x is blank" in text, text
    failures = "\n".join(interaction_failures(browser, "x"))
    assert "hovering event 0 does not show its box" in failures, failures
    assert "x: no 4x zoom button" in failures, failures


def test_report_in_chromium(browser: Browser, tmp_path: Path, cli) -> None:
    runs = _runs(tmp_path)
    res = cli("report", *runs, "-o", tmp_path / "rep")
    assert res.code == 0, res.err
    got = check_page(browser, tmp_path / "rep" / "report.html")
    assert got["failures"] == [], "\n".join(got["failures"])
    assert got["images"] >= 2 * 6  # each run's plots
    assert got["diagrams"] == ["run1-st", "run2-st"]
    for uid in got["diagrams"]:
        problems = interaction_failures(browser, uid)
        assert problems == [], "\n".join(problems)
    assert browser.problems() == []


def test_notebook_in_chromium(browser: Browser, tmp_path: Path) -> None:
    from clockbench.documents import notebook
    from clockbench.exercise import MATRICES, Settings, Trial
    from clockbench.measure.metrics import jump_profiles
    from clockbench.theory.run_analysis import analyse
    from clockbench.file.schema import open_run
    from clockbench.file.verify import verify
    matrix = MATRICES["assignment"]
    settings = Settings(matrix, str(tmp_path), 3, 60.0, 1.0, 1, "clockbench", "2026-11-28 00:00:00 UTC")
    trials = []
    for k, (variant, rates) in enumerate(zip(matrix.variants, [(4, 1, 4), (4, 5, 6), (1, 3, 6)]), 1):
        path = write_run(tmp_path / f"trial{k}.h5", from_replay(replay(rates, k, 60.0, variant.p_internal)))
        run = open_run(path)
        trials.append(Trial(k, variant, k, str(path), ["clockbench"], verified=verify(run),
                            analysis=analyse(run, histograms=False), jumps=jump_profiles(run)))
    html_path, _ = notebook.write_notebook(settings, trials)
    got = check_page(browser, Path(html_path))
    assert got["failures"] == [], "\n".join(got["failures"])
    assert got["images"] >= 3


def test_spacetime_page_in_chromium(browser: Browser, tmp_path: Path, cli) -> None:
    run = _runs(tmp_path)[1]
    res = cli("spacetime", run, "-o", tmp_path / "st.html", "--window", "5:9")
    assert res.code == 0, res.err
    got = check_page(browser, tmp_path / "st.html")
    assert got["failures"] == [], "\n".join(got["failures"])
    assert got["diagrams"] == ["st"]
    problems = interaction_failures(browser, "st")
    assert problems == [], "\n".join(problems)
