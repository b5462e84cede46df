"""circuit-tracer ``Graph`` → viewer/Neuronpedia JSON, with collision-free node ids.

We reuse circuit-tracer's own ``create_nodes`` / ``create_used_nodes_and_edges`` /
``build_model`` (so the JSON is exactly its schema, ``frontend/graph_models.Model``) with one
change: circuit-tracer names error nodes ``0_{layer}_{pos}``, which is *also* the id of the
layer-0 feature ``{layer}`` at that position (``{layer}_{feat}_{pos}`` with layer 0). The viewer
indexes nodes by id, so a collision silently merges two nodes and their links. We therefore name
error nodes ``err_{layer}_{pos}`` (layer and position also stay in the ``layer``/``ctx_idx``
fields); :func:`check_node_ids` rejects any graph whose ids are not unique.

Feature nodes keep circuit-tracer's ids ``{layer}_{feat}_{pos}`` and ``feature`` =
Cantor(layer, feat), the index of the per-feature viewer file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

FEATURE_TYPE = "cross layer transcoder"  # circuit-tracer's feature_type for every transcoder feature
ERROR_TYPE = "mlp reconstruction error"


def cantor(layer: int, feat: int) -> int:
    """circuit-tracer's feature index: the Cantor pairing of (layer, feature)."""
    return (layer + feat) * (layer + feat + 1) // 2 + feat


def cantor_unpair(z: int) -> tuple[int, int]:
    """Inverse of :func:`cantor` (as the viewer's ``util.cantorUnpair``)."""
    w = int(((8 * z + 1) ** 0.5 - 1) // 2)
    while (w + 1) * (w + 2) // 2 <= z:  # guard float rounding for large z
        w += 1
    while w * (w + 1) // 2 > z:
        w -= 1
    feat = z - w * (w + 1) // 2
    return w - feat, feat


def error_node_id(layer: int, pos: int) -> str:
    return f"err_{layer}_{pos}"


def check_node_ids(nodes: list[Mapping[str, Any]], links: list[Mapping[str, Any]]) -> None:
    """Raise ``ValueError`` if node ids repeat or a link names an unknown node."""
    counts = Counter(n["node_id"] for n in nodes)
    dupes = sorted(i for i, c in counts.items() if c > 1)
    if dupes:
        raise ValueError(f"duplicate node ids {dupes[:10]} ({len(dupes)} in all)")
    unknown = {e[k] for e in links for k in ("source", "target")} - set(counts)
    if unknown:
        raise ValueError(f"links name unknown nodes {sorted(unknown)[:10]}")


def graph_to_model(graph, tokenizer, slug: str, scan: str, node_threshold: float, edge_threshold: float):
    """Prune ``graph`` and build circuit-tracer's pydantic ``Model`` (unique error-node ids)."""
    from circuit_tracer.frontend.graph_models import Node
    from circuit_tracer.graph import prune_graph
    from circuit_tracer.utils.create_graph_files import build_model, create_nodes, create_used_nodes_and_edges

    node_mask, edge_mask, cumulative_scores = (t.cpu() for t in prune_graph(graph, node_threshold, edge_threshold))
    graph.to("cpu")
    nodes = create_nodes(graph, node_mask, tokenizer, cumulative_scores)
    for idx, node in nodes.items():
        if node.feature_type == ERROR_TYPE:
            new_id = error_node_id(int(node.layer), node.ctx_idx)
            nodes[idx] = Node(**{**node.model_dump(), "node_id": new_id, "jsNodeId": new_id})
    used_nodes, used_edges = create_used_nodes_and_edges(graph, nodes, edge_mask)
    model = build_model(graph, used_nodes, used_edges, slug, scan, node_threshold, tokenizer)
    validate_graph_json(json.loads(model.model_dump_json()))
    return model


def validate_graph_json(data: Mapping[str, Any]):
    """Validate with circuit-tracer's own pydantic models, plus unique ids; returns the ``Model``."""
    from circuit_tracer.frontend.graph_models import Model

    model = Model.model_validate(data)
    check_node_ids([n.model_dump() for n in model.nodes], model.links)
    for link in model.links:
        if set(link) != {"source", "target", "weight"}:
            raise ValueError(f"link {link} must have exactly source, target, weight")
    return model


def graph_summary(data: Mapping[str, Any]) -> dict[str, Any]:
    """Node/edge counts of a graph JSON (what the viewer shows after pruning)."""
    types = Counter(n["feature_type"] for n in data["nodes"])
    layers = sorted({int(n["layer"]) for n in data["nodes"] if n["feature_type"] == FEATURE_TYPE})
    return {
        "n_feature_nodes": types.get(FEATURE_TYPE, 0),
        "n_error_nodes": types.get(ERROR_TYPE, 0),
        "n_token_nodes": types.get("embedding", 0),
        "n_logit_nodes": types.get("logit", 0),
        "n_edges": len(data["links"]),
        "layers_with_features": layers,
    }


def apply_clerps(data: dict[str, Any], clerps: Mapping[tuple[int, int], str]) -> int:
    """Set ``clerp`` of feature nodes from ``{(layer, feat): text}``; returns how many were set."""
    n = 0
    for node in data["nodes"]:
        if node["feature_type"] != FEATURE_TYPE:
            continue
        layer, feat = cantor_unpair(int(node["feature"]))
        text = clerps.get((layer, feat), "")
        node["clerp"] = text
        n += bool(text)
    return n


def feature_keys(data: Mapping[str, Any]) -> set[tuple[int, int]]:
    """(layer, feature) of every feature node in a graph JSON."""
    return {cantor_unpair(int(n["feature"])) for n in data["nodes"] if n["feature_type"] == FEATURE_TYPE}
