"""FFL instances: roles from the instance's own edges; tiers scale with the layer count; cascades."""

from __future__ import annotations

import json

import numpy as np
import pytest

from r1interp.artifacts.motifs import tier_names
from r1interp.motifs.instances import ffl_cascades, ffl_instances, stage_tier
from r1interp.motifs.loader import load_attribution_graph


def node(nid, layer, pos, ftype="cross layer transcoder"):
    return {"node_id": nid, "layer": layer, "ctx_idx": pos, "feature_type": ftype, "feature": 0}


@pytest.fixture()
def hand_graph(tmp_path):
    """Two FFLs listed with nodes in *reverse* layer order, so index order cannot give the roles.

    FFL 1: src (L0) -> med (L2) -> tgt (L4), src -> tgt inhibitory (pattern +,+,- = I3).
    FFL 2: tgt (L4) -> t2 (L5) and med (L2) -> t2, plus med -> tgt: med is the source there.
    A mutual pair u<->v with w: not a 030T, never reported.
    """
    nodes = [node("t2", "5", 3), node("tgt", "4", 2), node("med", "2", 1), node("src", "0", 0), node("emb", "E", 0, "embedding"),
             node("u", "1", 5), node("v", "1", 6), node("w", "3", 6)]
    links = [
        {"source": "src", "target": "med", "weight": 2.0},
        {"source": "med", "target": "tgt", "weight": 3.0},
        {"source": "src", "target": "tgt", "weight": -4.0},
        {"source": "tgt", "target": "t2", "weight": 0.5},
        {"source": "med", "target": "t2", "weight": 0.5},
        {"source": "emb", "target": "src", "weight": 1.0},
        {"source": "u", "target": "v", "weight": 1.0}, {"source": "v", "target": "u", "weight": 1.0},
        {"source": "u", "target": "w", "weight": 9.0}, {"source": "v", "target": "w", "weight": 9.0},
    ]
    path = tmp_path / "hand.json"
    path.write_text(json.dumps({"nodes": nodes, "links": links}))
    return load_attribution_graph(path)


def test_roles_come_from_the_instance_edges(hand_graph):
    inst = ffl_instances(hand_graph, top_k=10, n_layers=6)
    assert len(inst) == 2
    top = inst.iloc[0]
    assert (top["source"], top["mediator"], top["target"]) == ("src", "med", "tgt")
    assert top["total_weight"] == pytest.approx(9.0)
    assert (top["w_source_mediator"], top["w_mediator_target"], top["w_source_target"]) == (2.0, 3.0, -4.0)
    assert top["signs"] == "++-" and top["ffl_type"] == "I3" and not top["coherent"]
    assert top["source_layer"] < top["mediator_layer"] < top["target_layer"]
    second = inst.iloc[1]
    assert (second["source"], second["mediator"], second["target"]) == ("med", "tgt", "t2")
    assert not {"u", "v", "w"} & set(inst[["source", "mediator", "target"]].to_numpy().ravel())


def test_cascade_links_instances_sharing_a_node(hand_graph):
    casc = ffl_cascades(ffl_instances(hand_graph, 10, 6))
    assert casc["cascade"].nunique() == 1 and set(casc["cascade_size"]) == {2}


def test_tiers_scale_with_layer_count():
    assert stage_tier(np.array([-1, 0, 5, 6, 11, 12, 17, 18]), 18, 3).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    # a 6-layer model gets the same three bands, not the 18-layer constants
    assert stage_tier(np.array([-1, 0, 1, 2, 3, 4, 5, 6]), 6, 3).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]
    assert stage_tier(np.array([0, 27]), 28, 4).tolist() == [1, 4]
    assert tier_names(3) == ["embedding", "early", "middle", "late", "logit"]
    with pytest.raises(ValueError):
        stage_tier(0, 0)


def test_no_ffl_gives_empty_table(tmp_path):
    path = tmp_path / "chain.json"
    path.write_text(json.dumps({"nodes": [node("a", "0", 0), node("b", "1", 0)], "links": [{"source": "a", "target": "b", "weight": 1.0}]}))
    assert ffl_instances(load_attribution_graph(path)).empty
