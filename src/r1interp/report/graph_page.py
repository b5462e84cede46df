"""One self-contained HTML page per attribution graph: an interactive view that opens offline.

Why our own page: circuit-tracer's viewer loads its scripts from the web, so it is blank on an
offline cluster node. This page inlines everything (a small SVG renderer, no library): nodes in a
layer × token-position layout (token embeddings at the bottom, transcoder features and error nodes
in their layer's row, output logits on top), pan (drag) and zoom (wheel), hover shows a node's
label and its feature's top activations, click highlights the node's inputs and outputs.

Input: the graphs stage's viewer dir (``results/{model}/graphs/{slug}.json`` listed in
``graph-metadata.json``, feature files in ``features/{model}/{id}.json``).
"""

from __future__ import annotations

import html
import json
import logging
import os
from pathlib import Path
from typing import Any

from r1interp.artifacts.graphs import METADATA, graph_metadata, read_graph
from r1interp.artifacts.write import write_text

log = logging.getLogger(__name__)

MAX_EDGES = 3000  # strongest edges drawn; the rest would only blur the picture
N_EXAMPLES = 3  # top-activation snippets per feature in the hover card
SNIPPET = 12  # tokens of context before the max-activating token

FEATURE, ERROR, EMBED, LOGIT = "cross layer transcoder", "mlp reconstruction error", "embedding", "logit"


def _top_examples(feature_file: dict | None) -> list[dict[str, Any]]:
    """The first few "Top activations" windows as ``{text before, token, text after, act}``."""
    if not feature_file:
        return []
    out, seen = [], set()
    for group in feature_file.get("examples_quantiles", [])[:1]:
        for ex in group.get("examples", []):
            toks, i = ex["tokens"], int(ex["train_token_ind"])
            snippet = {"pre": "".join(toks[max(0, i - SNIPPET):i]), "tok": toks[i] if i < len(toks) else "",
                       "post": "".join(toks[i + 1:i + 4]), "act": round(float(ex["tokens_acts_list"][i]), 3)}
            key = (snippet["pre"], snippet["tok"], snippet["post"])
            if key not in seen:  # the corpus repeats its instruction text: show distinct windows
                seen.add(key)
                out.append(snippet)
            if len(out) == N_EXAMPLES:
                return out
    return out


def _fallback_label(layer: str, node_id: str, examples: list[dict]) -> str:
    """``L3 #417 · fires on '7', '+'`` for a feature without a label in the graph."""
    feat = node_id.split("_")[1] if node_id.count("_") == 2 else "?"
    toks = list(dict.fromkeys(repr(e["tok"]) for e in examples))[:3]
    return f"L{layer} #{feat}" + (f" · fires on {', '.join(toks)}" if toks else "")


def page_data(graph: dict, features: dict[int, dict]) -> dict[str, Any]:
    """The compact JSON the page script draws (positions are computed in the browser)."""
    meta = graph["metadata"]
    tokens = [str(t) for t in meta.get("prompt_tokens", [])]
    nodes, index = [], {}
    n_layers = 1 + max((int(n["layer"]) for n in graph["nodes"] if n["feature_type"] in (FEATURE, ERROR)), default=0)
    for n in graph["nodes"]:
        kind = n["feature_type"]
        pos = int(n["ctx_idx"])
        if kind == EMBED:
            row, label = 0, f"token {tokens[pos] if pos < len(tokens) else pos!r}"
        elif kind == LOGIT:
            row, label = n_layers + 1, n.get("clerp") or f"logit {n['feature']}"
        else:
            row = int(n["layer"]) + 1
        examples = _top_examples(features.get(int(n["feature"]))) if kind == FEATURE else []
        if kind == FEATURE:
            label = n.get("clerp") or _fallback_label(n["layer"], n["node_id"], examples)
        elif kind == ERROR:
            label = f"L{n['layer']} error (MLP reconstruction error at this position)"
        index[n["node_id"]] = len(nodes)
        nodes.append({
            "id": n["node_id"], "kind": {FEATURE: "feature", ERROR: "error", EMBED: "token", LOGIT: "logit"}.get(kind, kind),
            "row": row, "pos": pos, "label": label, "act": n.get("activation"), "infl": n.get("influence"),
            "prob": n.get("token_prob") if kind == LOGIT else None,
            "examples": examples,
        })
    links = [(index[lk["source"]], index[lk["target"]], float(lk["weight"])) for lk in graph["links"]
             if lk["source"] in index and lk["target"] in index]
    links.sort(key=lambda t: -abs(t[2]))
    return {"title": meta.get("slug", ""), "prompt": meta.get("prompt", ""), "tokens": tokens, "n_rows": n_layers + 2,
            "nodes": nodes, "links": [[s, t, round(w, 5)] for s, t, w in links[:MAX_EDGES]], "n_links_total": len(links)}


SCRIPT = r"""
(function () {
  const D = JSON.parse(document.getElementById('graph-data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.getElementById('graph'), view = document.getElementById('view'), tip = document.getElementById('tip');
  const CW = 30, PADX = 70, PADY = 30, R = 6, STEP = 14, PER_ROW = 8;
  const nRow = D.n_rows, nPos = Math.max(1, D.tokens.length, 1 + Math.max(0, ...D.nodes.map(n => n.pos)));
  // layout: row = layer band (tokens bottom, logits top), column = token position, each column as
  // wide as its most crowded cell needs; cell mates on a small grid
  const cells = {};
  D.nodes.forEach((n, i) => { (cells[n.row + ':' + n.pos] = cells[n.row + ':' + n.pos] || []).push(i); });
  const colW = new Array(nPos).fill(CW);
  Object.values(cells).forEach(ids => { const p = D.nodes[ids[0]].pos; colW[p] = Math.max(colW[p], Math.min(ids.length, PER_ROW) * STEP + 10); });
  const colX = []; let acc = PADX;
  colW.forEach((w, p) => { colX.push(acc + w / 2); acc += w; });
  const maxRows = Math.max(1, ...Object.values(cells).map(ids => Math.ceil(ids.length / PER_ROW)));
  const RH = Math.max(50, STEP * maxRows + 16);
  Object.values(cells).forEach(ids => {
    const m = ids.length, cols = Math.min(m, PER_ROW), rows = Math.ceil(m / cols);
    ids.forEach((i, k) => {
      const n = D.nodes[i], c = k % cols, r = Math.floor(k / cols);
      n.x = colX[n.pos] + (c - (cols - 1) / 2) * STEP;
      n.y = PADY + (nRow - 1 - n.row) * RH + (r - (rows - 1) / 2) * STEP;
    });
  });
  const W = acc + 20, H = PADY + nRow * RH + 60;
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'xMinYMin meet');
  function el(tag, attrs, parent) { const e = document.createElementNS(NS, tag); for (const k in attrs) e.setAttribute(k, attrs[k]); parent.appendChild(e); return e; }
  // axes: layer rows and token columns
  for (let r = 0; r < nRow; r++) {
    const y = PADY + (nRow - 1 - r) * RH;
    el('line', {x1: PADX - 10, x2: W - 10, y1: y, y2: y, class: 'grid'}, view);
    el('text', {x: 6, y: y + 4, class: 'axis'}, view).textContent = r === 0 ? 'tokens' : r === nRow - 1 ? 'logits' : 'layer ' + (r - 1);
  }
  D.tokens.forEach((t, p) => {
    const y = PADY + (nRow - 1) * RH + 18;
    const tx = el('text', {x: colX[p], y: y, class: 'tok', 'text-anchor': 'end', transform: `rotate(-45 ${colX[p]} ${y})`}, view);
    tx.textContent = t.length > 10 ? t.slice(0, 9) + '…' : t;
  });
  const wmax = Math.max(1e-9, ...D.links.map(l => Math.abs(l[2])));
  const edgeG = el('g', {}, view), nodeG = el('g', {}, view);
  const edges = D.links.map(([s, t, w]) => {
    const a = D.nodes[s], b = D.nodes[t];
    return el('line', {x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: 'edge ' + (w >= 0 ? 'pos' : 'neg'),
                       'stroke-width': (0.3 + 3 * Math.abs(w) / wmax).toFixed(2), 'data-s': s, 'data-t': t}, edgeG);
  });
  const circles = D.nodes.map((n, i) => {
    const c = el(n.kind === 'logit' || n.kind === 'token' ? 'rect' : 'circle', {class: 'node ' + n.kind, 'data-i': i}, nodeG);
    if (c.tagName === 'rect') { c.setAttribute('x', n.x - R); c.setAttribute('y', n.y - R); c.setAttribute('width', 2 * R); c.setAttribute('height', 2 * R); }
    else { c.setAttribute('cx', n.x); c.setAttribute('cy', n.y); c.setAttribute('r', n.kind === 'error' ? R - 2 : R); }
    return c;
  });
  function esc(s) { return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c])); }
  function fmt(v) { return v === null || v === undefined ? '' : (+v).toFixed(3); }
  function card(n) {
    let h = `<div class="lab">${esc(n.label)}</div><div class="meta">${n.kind} · ${esc(n.id)} · position ${n.pos}` +
            (n.act !== null && n.act !== undefined ? ` · activation ${fmt(n.act)}` : '') +
            (n.infl !== null && n.infl !== undefined ? ` · influence ${fmt(n.infl)}` : '') +
            (n.prob !== null && n.prob !== undefined ? ` · p ${fmt(n.prob)}` : '') + '</div>';
    if (n.examples.length) {
      h += '<div class="meta">top activations</div>';
      n.examples.forEach(e => { h += `<div class="ex">${esc(e.pre)}<b>${esc(e.tok)}</b>${esc(e.post)} <span class="act">${fmt(e.act)}</span></div>`; });
    } else if (n.kind === 'feature') { h += '<div class="meta">no example file for this feature</div>'; }
    return h;
  }
  circles.forEach((c, i) => {
    c.addEventListener('mouseenter', ev => { tip.innerHTML = card(D.nodes[i]); tip.style.display = 'block'; move(ev); });
    c.addEventListener('mousemove', move);
    c.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
    c.addEventListener('click', ev => { ev.stopPropagation(); select(i); });
  });
  function move(ev) {  // keep the card inside the window
    const w = tip.offsetWidth, h = tip.offsetHeight;
    tip.style.left = (ev.clientX + 14 + w > window.innerWidth ? Math.max(0, ev.clientX - w - 14) : ev.clientX + 14) + 'px';
    tip.style.top = (ev.clientY + 14 + h > window.innerHeight ? Math.max(0, ev.clientY - h - 14) : ev.clientY + 14) + 'px';
  }
  let selected = null;
  function select(i) {
    selected = (selected === i) ? null : i;
    const on = new Set();
    edges.forEach(e => {
      const s = +e.dataset.s, t = +e.dataset.t, hit = selected !== null && (s === selected || t === selected);
      e.classList.toggle('hi', hit); e.classList.toggle('dim', selected !== null && !hit);
      if (hit) { on.add(s); on.add(t); }
    });
    circles.forEach((c, k) => {
      c.classList.toggle('sel', k === selected);
      c.classList.toggle('dim', selected !== null && !on.has(k) && k !== selected);
    });
    document.getElementById('info').textContent = selected === null ? '' :
      `${D.nodes[selected].label}: ${edges.filter(e => +e.dataset.t === selected).length} inputs, ` +
      `${edges.filter(e => +e.dataset.s === selected).length} outputs highlighted`;
  }
  svg.addEventListener('click', () => { if (selected !== null) select(selected); });
  // pan (drag) and zoom (wheel) by a transform on the view group
  let k = 1, tx = 0, ty = 0, drag = null;
  function apply() { view.setAttribute('transform', `translate(${tx},${ty}) scale(${k})`); }
  function pt(ev) { const p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY; return p.matrixTransform(svg.getScreenCTM().inverse()); }
  svg.addEventListener('wheel', ev => {
    ev.preventDefault();
    const p = pt(ev), f = Math.exp(-ev.deltaY * 0.0015), nk = Math.min(20, Math.max(0.2, k * f));
    tx = p.x - (p.x - tx) * nk / k; ty = p.y - (p.y - ty) * nk / k; k = nk; apply();
  }, {passive: false});
  svg.addEventListener('mousedown', ev => { drag = {p: pt(ev), tx, ty}; });
  window.addEventListener('mousemove', ev => { if (drag) { const p = pt(ev); tx = drag.tx + p.x - drag.p.x; ty = drag.ty + p.y - drag.p.y; apply(); } });
  window.addEventListener('mouseup', () => { drag = null; });
  document.getElementById('reset').addEventListener('click', () => { k = 1; tx = 0; ty = 0; apply(); });
  document.getElementById('stats').textContent =
    `${D.nodes.length} nodes, ${D.links.length} of ${D.n_links_total} edges drawn (strongest first)`;
})();
"""

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;overflow:hidden}
header{padding:8px 14px;border-bottom:1px solid #ddd}
h1{font-size:16px;margin:0 0 4px}
.prompt{font-family:monospace;font-size:12px;white-space:pre-wrap;color:#555;max-height:4.5em;overflow:auto}
#graph{width:100%;height:calc(100vh - 110px);display:block;cursor:grab;background:#fcfcfc}
.grid{stroke:#eee}.axis{font-size:11px;fill:#777}.tok{font-size:10px;fill:#444;font-family:monospace}
.edge{stroke-opacity:.35}.edge.pos{stroke:#2b6cb0}.edge.neg{stroke:#c53030}.edge.hi{stroke-opacity:.95}.edge.dim{stroke-opacity:.04}
.node{stroke:#333;stroke-width:.8;cursor:pointer}.node.feature{fill:#f6ad55}.node.error{fill:#a0aec0}
.node.token{fill:#68d391}.node.logit{fill:#b794f4}.node.sel{stroke:#000;stroke-width:3}.node.dim{opacity:.15}
#tip{position:fixed;display:none;max-width:460px;background:#fff;border:1px solid #999;border-radius:4px;padding:6px 8px;
font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.2);pointer-events:none}
#tip .lab{font-weight:600;margin-bottom:2px}#tip .meta{color:#666;margin:2px 0}
#tip .ex{font-family:monospace;white-space:pre-wrap;border-top:1px solid #eee;padding:2px 0}#tip .ex b{background:#fbd38d}
#tip .act{color:#888}button{font-size:12px}#info{font-size:12px;color:#333;margin-left:10px}
"""


def graph_page_html(graph: dict, features: dict[int, dict], back_href: str | None = None) -> str:
    data = page_data(graph, features)
    payload = json.dumps(data).replace("</", "<\\/")
    back = f'<a href="{html.escape(back_href)}">← report</a> · ' if back_href else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(data['title'])}</title>
<style>{STYLE}</style></head><body>
<header><h1>{back}attribution graph {html.escape(data['title'])}</h1>
<div class="prompt">{html.escape(data['prompt'])}</div>
<button id="reset">reset view</button> <span id="stats"></span><span id="info"></span>
<span class="axis"> · drag to pan, wheel to zoom, hover a node for its label and top activations, click to highlight its inputs and outputs</span>
</header>
<svg id="graph" xmlns="http://www.w3.org/2000/svg"><g id="view"></g></svg>
<div id="tip"></div>
<script type="application/json" id="graph-data">{payload}</script>
<script>{SCRIPT}</script>
</body></html>
"""


def _feature_files(graph_dir: Path, model: str, graph: dict) -> dict[int, dict]:
    out = {}
    for n in graph["nodes"]:
        if n["feature_type"] == FEATURE:
            f = graph_dir / "features" / model / f"{int(n['feature'])}.json"
            if f.is_file() and int(n["feature"]) not in out:
                out[int(n["feature"])] = json.loads(f.read_text())
    return out


def write_graph_pages(results: str | Path, models: list[str], out_dir: str | Path, report_html: str | Path | None = None) -> list[tuple[str, str, Path]]:
    """Write ``out_dir/{model}/{slug}.html`` for every finalized graph; returns ``(model, slug, path)``.

    A graph file that cannot be read is logged and skipped; the other pages are still written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)  # a declared output even when there is no graph
    pages = []
    for model in models:
        gdir = Path(results) / model / "graphs"
        if not (gdir / METADATA).is_file():
            continue
        for g in graph_metadata(gdir):
            slug = g["slug"]
            dest = out_dir / model / f"{slug}.html"
            try:
                graph = read_graph(gdir / f"{slug}.json")
                back = os.path.relpath(report_html, dest.parent) if report_html else None
                text = graph_page_html(graph, _feature_files(gdir, model, graph), back)
            except (OSError, ValueError, KeyError) as e:
                log.error("graph page %s/%s skipped: %s", model, slug, e)
                continue
            write_text(text, dest)
            pages.append((model, slug, dest))
    log.info("%d interactive graph pages in %s", len(pages), out_dir)
    return pages


def graph_pages_section(results: str | Path, models: list[str], out_html: str | Path) -> str:
    """Write the pages next to the report (``<report dir>/report/graphs/``) and return the links' HTML."""
    out_html = Path(out_html)
    pages = write_graph_pages(results, models, out_html.parent / "report" / "graphs", out_html)
    if not pages:
        return ""
    items = "".join(
        f'<li><a href="{html.escape(os.path.relpath(p, out_html.parent))}">{html.escape(m)} / {html.escape(s)}</a></li>'
        for m, s, p in pages
    )
    return (f"<p>Interactive graph pages (open offline; pan, zoom, hover for labels and top activations, click to "
            f"highlight a node's inputs and outputs):</p><ul class=\"graph-pages\">{items}</ul>")
