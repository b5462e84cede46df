"""Tiny HTML building blocks for a self-contained report: figures are embedded as base64 data URIs.

Why no template engine or CDN: the report must open from disk in a browser with no network, and
the few elements it needs (sections, figures with captions, tables) fit in a page of code.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
header{background:#1d2330;color:#fff;padding:1.2rem 2rem}header h1{margin:0;font-size:1.5rem}
header p{margin:.3rem 0 0;color:#c9d1e0}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #e3e7ee;padding:.5rem 2rem;z-index:2}
nav a{margin-right:1rem;color:#2c5cc5;text-decoration:none;font-size:.9rem}
main{padding:1rem 2rem;max-width:1200px}
section{background:#fff;border:1px solid #e3e7ee;border-radius:8px;padding:1rem 1.5rem;margin:1rem 0}
h2{margin-top:.2rem}figure{margin:1rem 0}figure img{max-width:100%;border:1px solid #eef0f4}
figcaption{font-size:.9rem;color:#4a5468;margin-top:.3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #e3e7ee;padding:.25rem .5rem;text-align:right}th{background:#f3f5f9}
td.text,th.text{text-align:left}.flag-bad{color:#b3261e;font-weight:600}.flag-ok{color:#1e7b34}
.note{font-size:.9rem;color:#4a5468}pre{background:#f3f5f9;padding:.6rem;overflow-x:auto;font-size:.8rem}
"""


def esc(text: object) -> str:
    return html.escape(str(text))


def figure(path: str | Path, caption: str, fig_id: str) -> str:
    """An embedded PNG with its caption; the id lets tests and readers address each figure."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return (f'<figure id="{esc(fig_id)}"><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def table(df: pd.DataFrame, caption: str | None = None, max_rows: int | None = 30, floatfmt: str = "{:.4g}", source: str | None = None) -> str:
    """An HTML table of ``df``; beyond ``max_rows`` (``None``: no limit) it says how many rows it
    shows and where the whole table is (``source``), so that a cut never passes for the whole."""
    total = len(df)
    cut = max_rows is not None and total > max_rows
    df = df.head(max_rows) if cut else df
    def cell(v: object) -> str:
        if v is None:
            return '<td class="text"></td>'
        if isinstance(v, float):
            return f"<td>{esc(floatfmt.format(v))}</td>"
        if isinstance(v, (int, bool)):
            return f"<td>{esc(v)}</td>"
        return f'<td class="text">{esc(v)}</td>'
    head = "".join(f'<th class="text">{esc(c)}</th>' for c in df.columns)
    body = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in df.itertuples(index=False))
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    note = (f'<p class="note">First {len(df)} of {total} rows{"; the whole table: " + esc(source) if source else ""}.</p>' if cut else "")
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


@dataclass
class Section:
    id: str
    title: str
    intro: str
    parts: list[str] = field(default_factory=list)

    def render(self) -> str:
        return f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2><p class="note">{esc(self.intro)}</p>{"".join(self.parts)}</section>'


def page(title: str, subtitle: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{esc(s.id)}">{esc(s.title)}</a>' for s in sections)
    body = "".join(s.render() for s in sections)
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
            f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><nav>{nav}</nav><main>{body}</main></body></html>")
