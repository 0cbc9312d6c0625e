"""A small document model shared by the report and the lab notebook, written out twice: one
self-contained HTML page (inline CSS, plots as base64 PNG) and Markdown with the PNGs beside it."""

from __future__ import annotations

import base64
import html
import io
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Sequence, Tuple, Union

if TYPE_CHECKING:  # matplotlib is imported where a figure is drawn: a command without one starts faster
    from matplotlib.figure import Figure

from clockbench.documents.tables import Table, alarming, render_html, render_markdown

# Plots are drawn at this resolution: sharp on screen, ~60-120 kB per PNG.
DPI = 110

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330;
       margin: 0 auto; padding: 1.5em 2em 4em; max-width: 1180px; background: #fff; }
h1 { font-size: 1.7em; margin-bottom: .2em; } h2 { font-size: 1.35em; margin-top: 2.2em;
  border-bottom: 2px solid #dfe3ea; padding-bottom: .2em; } h3 { font-size: 1.1em; margin-top: 1.6em; }
p.muted { color: #5b6472; margin-top: 0; }
p.banner { background: #fdecea; border: 2px solid #c62828; color: #8e1c1c; padding: .6em 1em;
  font-weight: 600; border-radius: 4px; }
p.note { background: #f3f6fb; border-left: 4px solid #4a78c2; padding: .5em 1em; }
.scroll { overflow-x: auto; margin: .6em 0 1em; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d5dae2; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #eef1f6; position: sticky; top: 0; } tr:nth-child(even) td { background: #f8f9fb; }
td:first-child, th:first-child { text-align: left; }
table.kv td { text-align: left; white-space: normal; } table.kv td:first-child { font-weight: 600; }
td.pass { color: #1b7a34; font-weight: 600; } td.fail { color: #fff; background: #c62828 !important;
  font-weight: 700; }
figure { margin: 1.2em 0; text-align: center; } figure img { max-width: 100%; height: auto; }
figcaption { color: #5b6472; font-size: 13px; margin-top: .3em; }
pre { background: #f5f6f8; border: 1px solid #e1e4e8; padding: .8em; overflow-x: auto; font-size: 13px; }
ul.toc { columns: 2; } li { margin: .15em 0; }
"""


@dataclass
class _Heading:
    text: str
    level: int
    anchor: str


@dataclass
class _Para:
    text: str
    kind: str  # "", "banner", "note", "muted"


@dataclass
class _Bullets:
    items: List[str]


@dataclass
class _Table:
    table: Table
    key_value: bool


@dataclass
class _Figure:
    name: str   # file name of the PNG beside the Markdown
    png: bytes
    caption: str


@dataclass
class _Pre:
    text: str


@dataclass
class _Html:
    html: str    # inserted as is: it must be self-contained (no external resources)
    name: str    # a file beside the Markdown, linked from it ("": none)
    data: bytes
    caption: str


_Block = Union[_Heading, _Para, _Bullets, _Table, _Figure, _Pre, _Html]


def anchor_of(text: str) -> str:
    """A heading's anchor: lower case words joined by '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, without the timestamp and software tags (reproducible files)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


class Document:
    """Blocks in reading order; level-2 headings make the table of contents."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.blocks: List[_Block] = []
        self._names: set = set()
        self._anchors: set = set()

    def heading(self, text: str, level: int = 2, anchor: str = "") -> str:
        """Adds a heading and returns its (unique) anchor."""
        base = anchor or anchor_of(text)
        anchor, k = base, 2
        while anchor in self._anchors:
            anchor, k = f"{base}-{k}", k + 1
        self._anchors.add(anchor)
        self.blocks.append(_Heading(text, level, anchor))
        return anchor

    def para(self, text: str, kind: str = "") -> None:
        self.blocks.append(_Para(text, kind))

    def bullets(self, items: Sequence[str]) -> None:
        self.blocks.append(_Bullets(list(items)))

    def table(self, table: Table) -> None:
        self.blocks.append(_Table(table, key_value=False))

    def key_values(self, rows: Sequence[Sequence[str]]) -> None:
        """A two-column table of names and values (provenance, settings)."""
        self.blocks.append(_Table(Table(["", ""], [list(r) for r in rows]), key_value=True))

    def pre(self, text: str) -> None:
        self.blocks.append(_Pre(text))

    def figure(self, fig: Figure, name: str, caption: str) -> None:
        """Renders the figure now (and lets it go), as `name`.png beside the Markdown."""
        base, k = re.sub(r"[^A-Za-z0-9_.-]+", "-", name), 2
        unique = base
        while unique in self._names:
            unique, k = f"{base}-{k}", k + 1
        self._names.add(unique)
        self.blocks.append(_Figure(unique + ".png", figure_png(fig), caption))

    def raw_html(self, markup: str, name: str, data: bytes, caption: str) -> None:
        """Markup for the page (e.g. inline SVG), and for the Markdown a link to `data` saved as `name`."""
        self.blocks.append(_Html(markup, name, data, caption))

    def _toc(self) -> List[Tuple[str, str]]:
        return [(b.text, b.anchor) for b in self.blocks if isinstance(b, _Heading) and b.level == 2]

    def to_html(self) -> str:
        """The whole page: no external resources, so it can be mailed or archived alone."""
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width, initial-scale=1">',
               f"<title>{html.escape(self.title)}</title><style>{CSS}</style></head><body>",
               f"<h1>{html.escape(self.title)}</h1>"]
        if self.subtitle:
            out.append(f'<p class="muted">{html.escape(self.subtitle)}</p>')
        toc = self._toc()
        if len(toc) > 2:
            out.append('<ul class="toc">' + "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>'
                                                    for t, a in toc) + "</ul>")
        for b in self.blocks:
            out.append(_block_html(b))
        out.append("</body></html>")
        return "\n".join(out)

    def to_markdown(self) -> str:
        out = [f"# {self.title}", ""]
        if self.subtitle:
            out += [f"*{_md_escape(self.subtitle)}*", ""]
        toc = self._toc()
        if len(toc) > 2:
            out += [f"- [{_md_escape(t)}](#{a})" for t, a in toc] + [""]
        for b in self.blocks:
            out += [_block_markdown(b), ""]
        return "\n".join(out)

    def write(self, folder: str, stem: str) -> Tuple[str, str]:
        """Writes folder/stem.html, folder/stem.md and the PNGs; returns the two paths."""
        os.makedirs(folder, exist_ok=True)
        html_path = os.path.join(folder, stem + ".html")
        md_path = os.path.join(folder, stem + ".md")
        for b in self.blocks:
            if isinstance(b, (_Figure, _Html)) and b.name:
                with open(os.path.join(folder, b.name), "wb") as f:
                    f.write(b.png if isinstance(b, _Figure) else b.data)
        with open(html_path, "w", encoding="utf-8") as f:
            f.write(self.to_html())
        with open(md_path, "w", encoding="utf-8") as f:
            f.write(self.to_markdown())
        return html_path, md_path


def _block_html(b: _Block) -> str:
    if isinstance(b, _Heading):
        return f'<h{b.level} id="{b.anchor}">{html.escape(b.text)}</h{b.level}>'
    if isinstance(b, _Para):
        cls = f' class="{b.kind}"' if b.kind else ""
        return f"<p{cls}>{html.escape(b.text)}</p>"
    if isinstance(b, _Bullets):
        return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in b.items) + "</ul>"
    if isinstance(b, _Table):
        if b.key_value:
            rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                           for k, v in b.table.rows)
            return f'<div class="scroll"><table class="kv">{rows}</table></div>'
        return f'<div class="scroll">{render_html(b.table)}</div>'
    if isinstance(b, _Html):
        return f"<figure>{b.html}<figcaption>{html.escape(b.caption)}</figcaption></figure>" if b.caption else b.html
    if isinstance(b, _Figure):
        data = base64.b64encode(b.png).decode("ascii")
        cap = html.escape(b.caption)
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{cap}">'
                f"<figcaption>{cap}</figcaption></figure>")
    return f"<pre>{html.escape(b.text)}</pre>"


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)


def _block_markdown(b: _Block) -> str:
    if isinstance(b, _Heading):
        return f'<a id="{b.anchor}"></a>\n\n{"#" * b.level} {_md_escape(b.text)}'
    if isinstance(b, _Para):
        text = _md_escape(b.text)
        return {"banner": f"> **{text}**", "note": f"> {text}", "muted": f"*{text}*"}.get(b.kind, text)
    if isinstance(b, _Bullets):
        return "\n".join(f"- {_md_escape(i)}" for i in b.items)
    if isinstance(b, _Table):
        t = b.table
        if b.key_value:
            t = Table(["name", "value"], [[k, _md_escape(v)] for k, v in t.rows])
        else:
            t = Table(t.headers, [[f"**{_md_escape(c)}**" if alarming(c) else _md_escape(c) for c in r]
                                  for r in t.rows])
        return render_markdown(t)
    if isinstance(b, _Html):
        return f"[{b.name}]({b.name})\n\n*{_md_escape(b.caption)}*" if b.name else ""
    if isinstance(b, _Figure):
        return f"![{_md_escape(b.caption)}]({b.name})\n\n*{_md_escape(b.caption)}*"
    fence = "~~~~" if "```" in b.text else "```"
    return f"{fence}\n{b.text.rstrip()}\n{fence}"
