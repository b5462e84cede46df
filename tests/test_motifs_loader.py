"""Graph JSON loading: circuit-motifs semantics, thresholds, optional fields, malformed files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from r1interp.motifs.loader import GraphFormatError, Threshold, effective_layers, infer_n_layers, load_attribution_graph
from r1interp.motifs.synthetic import random_attribution_graph, write_graph


@pytest.fixture()
def graph_json():
    return random_attribution_graph(n_layers=4, n_edges=120, seed=3)


def test_semantics_errors_dropped_embeddings_minus_one(tmp_path, graph_json):
    g = load_attribution_graph(write_graph(graph_json, tmp_path / "g.json"))
    types = set(g.vs["feature_type"])
    assert "mlp reconstruction error" not in types
    emb = [v for v in g.vs if v["feature_type"] == "embedding"]
    assert emb and all(v["layer"] == -1 for v in emb)
    kept = set(g.vs["name"])
    expected = [l for l in graph_json["links"] if l["source"] in kept and l["target"] in kept]
    assert g.ecount() == len(expected)
    for e in g.es:
        assert e["weight"] == abs(e["raw_weight"])
        assert e["sign"] == ("excitatory" if e["raw_weight"] >= 0 else "inhibitory")
    assert g.is_simple() and g.is_dag()
    # logits sit right above the last layer for gap computations
    lay = effective_layers(g, 4)
    logit = np.asarray(g.vs["feature_type"]) == "logit"
    assert (lay[logit] == 4).all() and infer_n_layers(g) == 4


def test_layer_count_comes_from_the_logits_when_the_last_layers_were_pruned(tmp_path):
    """Two graphs of one 18-layer model, one without any feature above layer 11: the same count,
    so their logits sit at the same layer (external graph sets carry no layer count)."""
    full = random_attribution_graph(n_layers=18, n_edges=300, seed=5)
    kept = {n["node_id"] for n in full["nodes"] if n["feature_type"] != "cross layer transcoder" or int(n["layer"]) < 12}
    pruned = dict(full, nodes=[n for n in full["nodes"] if n["node_id"] in kept],
                  links=[l for l in full["links"] if l["source"] in kept and l["target"] in kept])
    for graph in (full, pruned):
        g = load_attribution_graph(write_graph(graph, tmp_path / "g.json"))
        assert infer_n_layers(g) == 18
        logit = np.asarray(g.vs["feature_type"]) == "logit"
        assert (effective_layers(g)[logit] == 18).all()


def test_include_errors(tmp_path, graph_json):
    g = load_attribution_graph(write_graph(graph_json, tmp_path / "g.json"), exclude_node_types=())
    assert "mlp reconstruction error" in set(g.vs["feature_type"])


def test_missing_optional_fields_and_populated_qparams(tmp_path, graph_json):
    for n in graph_json["nodes"]:
        for k in ("activation", "influence", "clerp", "ctx_idx", "jsNodeId", "token_prob", "is_target_logit", "feature"):
            n.pop(k, None)
    graph_json["qParams"] = {"pinnedIds": ["x"], "supernodes": [["a", "b"]], "linkType": "both", "clickedId": "x", "sg_pos": "1"}
    del graph_json["metadata"]
    g = load_attribution_graph(write_graph(graph_json, tmp_path / "anthropic-like.json"))
    assert g.ecount() > 0
    assert set(g.vs["ctx_idx"]) == {-1}
    assert g["prompt"] == ""


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: {**d, "nodes": None}, "'nodes'"),
        (lambda d: {**d, "links": d["links"] + [{"source": "nope", "target": d["nodes"][0]["node_id"], "weight": 1.0}]}, "unknown node 'nope'"),
        (lambda d: {**d, "links": [{**d["links"][0], "weight": "big"}]}, r"links\[0\].weight"),
        (lambda d: {**d, "links": [{"source": d["links"][0]["source"], "target": d["links"][0]["target"]}]}, "no 'weight'"),
        (lambda d: {**d, "nodes": [{"layer": "0"}]}, r"nodes\[0\] has no 'node_id'"),
        (lambda d: [1, 2], "top level"),
    ],
)
def test_malformed_file_error_names_the_file(tmp_path, graph_json, mutate, match):
    bad = mutate(graph_json)
    path = tmp_path / "broken-graph.json"
    path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    with pytest.raises(GraphFormatError, match=match) as exc:
        load_attribution_graph(path)
    assert str(path) in str(exc.value)


def test_missing_file_named(tmp_path):
    with pytest.raises(GraphFormatError, match="absent.json"):
        load_attribution_graph(tmp_path / "absent.json")


def test_thresholds_absolute_relative_top_k(tmp_path, graph_json):
    path = write_graph(graph_json, tmp_path / "g.json")
    full = load_attribution_graph(path)
    w = np.abs(np.asarray(full.es["raw_weight"]))
    a = load_attribution_graph(path, Threshold("absolute", 1.0))
    assert a.ecount() == int((w >= 1.0).sum()) and min(a.es["weight"]) >= 1.0
    r = load_attribution_graph(path, Threshold("relative", 0.25))
    assert r.ecount() == int((w >= 0.25 * w.max()).sum())
    k = load_attribution_graph(path, Threshold("top_k", 10))
    assert k.ecount() == 10 and min(k.es["weight"]) >= np.sort(w)[-10]
    assert load_attribution_graph(path, 0.0).ecount() == full.ecount()  # a float is absolute
    with pytest.raises(ValueError, match="fraction"):
        Threshold("relative", 2.0)
    with pytest.raises(ValueError, match="mode"):
        Threshold("percent", 0.1)


def test_repeated_links_merged_and_self_loops_dropped(tmp_path, graph_json):
    link = graph_json["links"][0]
    graph_json["links"].append({**link, "weight": -100.0})
    graph_json["links"].append({"source": link["source"], "target": link["source"], "weight": 5.0})
    g = load_attribution_graph(write_graph(graph_json, tmp_path / "g.json"))
    assert g.is_simple()
    eid = g.get_eid(link["source"], link["target"])
    assert g.es[eid]["raw_weight"] == -100.0  # largest |w| kept
