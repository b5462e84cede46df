"""Report graph pages: one self-contained interactive page per attribution graph, opened in headless
Chromium with the network blocked (nodes render, hover shows a label, click highlights edges)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from r1interp.graphs.export import cantor, validate_graph_json
from r1interp.report.graph_page import graph_page_html, page_data, write_graph_pages

CHROMIUM = next((shutil.which(n) for n in ("chromium-headless-shell", "chromium", "chromium-browser") if shutil.which(n)), None)
TOKENS = ["<|bos|>", "What", " is", " 2", "+", "3", "?"]


def _node(node_id, feature, layer, pos, kind, clerp="", act=None, infl=None, prob=0.0, js=None):
    return {"node_id": node_id, "feature": feature, "layer": str(layer), "ctx_idx": pos, "feature_type": kind,
            "token_prob": prob, "is_target_logit": False, "run_idx": 0, "reverse_ctx_idx": 0,
            "jsNodeId": js or node_id, "clerp": clerp, "influence": infl, "activation": act}


def make_graph() -> dict:
    """A graph in the graphs stage's format (circuit-tracer schema, validated below)."""
    nodes = [_node(f"E_{10 + p}_{p}", 10 + p, "E", p, "embedding") for p in range(len(TOKENS))]
    feats = [(0, 2, 3, "digit two"), (0, 7, 5, "digit three"), (1, 4, 6, ""), (2, 9, 6, "sum is five")]
    for layer, f, pos, clerp in feats:
        nodes.append(_node(f"{layer}_{f}_{pos}", cantor(layer, f), layer, pos, "cross layer transcoder", clerp, act=1.5, infl=0.4,
                           js=f"{layer}_{f}-0"))
    nodes.append(_node("1_error_6", 0, 1, 6, "mlp reconstruction error", js="1_err-6"))
    nodes.append(_node("3_55_6", 55, 3, 6, "logit", 'Output "5" (p=0.61)', prob=0.61, js="L_55-6"))
    links = [
        {"source": "E_13_3", "target": "0_2_3", "weight": 0.8},
        {"source": "E_15_5", "target": "0_7_5", "weight": 0.7},
        {"source": "0_2_3", "target": "2_9_6", "weight": 0.5},
        {"source": "0_7_5", "target": "2_9_6", "weight": 0.6},
        {"source": "1_4_6", "target": "2_9_6", "weight": -0.2},
        {"source": "1_error_6", "target": "3_55_6", "weight": 0.1},
        {"source": "2_9_6", "target": "3_55_6", "weight": 0.9},
    ]
    meta = {"slug": "p-answer", "scan": "./data/features/toy", "transcoder_list": [], "prompt_tokens": TOKENS,
            "prompt": "".join(TOKENS), "node_threshold": 0.8, "schema_version": 1}
    graph = {"metadata": meta, "qParams": {"pinnedIds": [], "supernodes": [], "linkType": "both", "clickedId": "", "sg_pos": ""},
             "nodes": nodes, "links": links}
    validate_graph_json(graph)
    return graph


def feature_file(layer: int, feat: int) -> dict:
    toks = ["a", " 1", "+", "2", "=", "3"]
    return {"index": cantor(layer, feat), "examples_quantiles": [{"quantile_name": "Top activations", "examples": [
        {"tokens": toks, "tokens_acts_list": [0, 0, 0, 2.5, 0, 0], "train_token_ind": 3, "is_repeated_datapoint": False}]}]}


@pytest.fixture()
def graph_dir(tmp_path) -> Path:
    r = tmp_path / "results"
    g = r / "toy" / "graphs"
    (g / "features" / "toy").mkdir(parents=True)
    graph = make_graph()
    (g / "p-answer.json").write_text(json.dumps(graph))
    (g / "graph-metadata.json").write_text(json.dumps({"graphs": [graph["metadata"], {**graph["metadata"], "slug": "broken"}]}))
    (g / "broken.json").write_text("{not json")
    (g / "features" / "toy" / f"{cantor(0, 2)}.json").write_text(json.dumps(feature_file(0, 2)))
    return r


def test_page_data_layout_and_labels():
    data = page_data(make_graph(), {cantor(0, 2): feature_file(0, 2)})
    by_id = {n["id"]: n for n in data["nodes"]}
    assert data["n_rows"] == 3 + 2  # tokens, layers 0..2, logits
    assert by_id["E_13_3"]["row"] == 0 and by_id["E_13_3"]["label"] == "token ' 2'"
    assert by_id["2_9_6"]["row"] == 3 and by_id["3_55_6"]["row"] == 4
    assert by_id["0_2_3"]["examples"] == [{"pre": "a 1+", "tok": "2", "post": "=3", "act": 2.5}]
    assert by_id["1_4_6"]["label"] == "L1 #4"  # unlabeled feature: a fallback, never blank
    with_file = {n["id"]: n for n in page_data(make_graph(), {cantor(1, 4): feature_file(1, 4)})["nodes"]}
    assert with_file["1_4_6"]["label"] == "L1 #4 · fires on '2'"  # ... naming the tokens it fires on when known
    assert data["links"][0] == [data["nodes"].index(by_id["2_9_6"]), data["nodes"].index(by_id["3_55_6"]), 0.9]


def test_pages_written_bad_graph_skipped(graph_dir, tmp_path):
    pages = write_graph_pages(graph_dir, ["toy", "absent-model"], tmp_path / "pages", tmp_path / "report.html")
    assert [(m, s) for m, s, _ in pages] == [("toy", "p-answer")]
    text = pages[0][2].read_text()
    assert '<a href="../../report.html">' in text
    # self-contained: no external script, stylesheet or URL (the SVG namespace is not fetched)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|https?://(?!www\.w3\.org/2000/svg)", text)


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (apt-get install chromium-headless-shell)")
def test_page_renders_and_hover_shows_label_offline(tmp_path):
    page = tmp_path / "page.html"
    probe = """<script>
      window.addEventListener('load', () => {
        const nodes = document.querySelectorAll('#graph .node');
        const feat = [...nodes].find(n => n.classList.contains('feature') && n.getAttribute('cx'));
        const box = feat.getBoundingClientRect();
        feat.dispatchEvent(new MouseEvent('mouseenter', {clientX: box.x, clientY: box.y}));
        const tip = document.getElementById('tip');
        const hover = tip.style.display + '|' + tip.querySelector('.lab').textContent + '|' + tip.querySelectorAll('.ex').length;
        feat.dispatchEvent(new MouseEvent('click', {bubbles: true}));
        const hi = document.querySelectorAll('#graph .edge.hi').length, dim = document.querySelectorAll('#graph .edge.dim').length;
        const r = {nodes: nodes.length, edges: document.querySelectorAll('#graph .edge').length,
                   visible: [...nodes].filter(n => n.getBoundingClientRect().width > 0).length, hover, hi, dim};
        document.title = 'probe:' + JSON.stringify(r);
      });</script></body>"""
    page.write_text(graph_page_html(make_graph(), {cantor(0, 2): feature_file(0, 2)}).replace("</body>", probe))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--virtual-time-budget=5000",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--window-size=1200,800"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"<title>probe:(.*?)</title>", dom)
    assert m, dom[:1000]
    r = json.loads(m.group(1).replace("&quot;", '"'))
    assert r["nodes"] == 13 and r["visible"] == 13 and r["edges"] == 7
    assert r["hover"] == "block|digit two|1"  # the first feature node in the file is L0 #2 "digit two", 1 top example
    assert r["hi"] == 2 and r["dim"] == 5  # its one input and one output highlighted, the rest dimmed


def test_report_links_every_graph_page(graph_dir, tmp_path):
    from r1interp.report.build import ReportInputs, build_report

    out = tmp_path / "site" / "report.html"
    html = build_report(ReportInputs(graph_dir, ["toy"], []), out)
    assert '<a href="report/graphs/toy/p-answer.html">toy / p-answer</a>' in html
    assert (out.parent / "report/graphs/toy/p-answer.html").is_file()
