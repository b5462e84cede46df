"""Dense layered graphs shaped like pruned attribution graphs, in circuit-tracer's JSON schema.

Why: published pruned attribution graphs have ~80 nodes and 1,300–1,700 edges (density
0.2–0.25 — most forward node pairs of a layer pair are linked), embedding hubs at layer "E",
logit sinks, error nodes and features in most layers. Null samplers that look fine on sparse
random graphs stall or drift on these (dense layer pairs leave few legal swaps), so the
benchmark and the ensemble tests need them without a model run.

Edges run forward only (layer gap ≥ 1). They are drawn without replacement among forward pairs
with weight ``w_u · w_v · 0.85^(gap−1)`` (heavy-tailed node weights, embeddings and logits
boosted), which gives hubs and a decay with layer distance as in real graphs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from r1interp.motifs.synthetic import random_attribution_graph


def dense_attribution_graph(
    n_nodes: int = 80,
    n_edges: int = 1500,
    n_layers: int = 12,
    n_pos: int = 8,
    n_logits: int = 2,
    n_errors: int | None = None,
    inhibitory_fraction: float = 0.3,
    seed: int = 0,
    slug: str = "dense",
) -> dict[str, Any]:
    """A graph JSON dict whose *analysed* graph (error nodes dropped, as the motif stage does by
    default) has ``n_nodes`` nodes and ``n_edges`` edges; ``n_errors`` error nodes (default one
    per 3 layers) carry extra edges like real ones."""
    rng = np.random.default_rng(seed)
    n_errors = max(1, n_layers // 3) if n_errors is None else n_errors
    n_feat = n_nodes - n_pos - n_logits
    if n_feat < n_layers:
        raise ValueError(f"{n_nodes} nodes leave {n_feat} features for {n_layers} layers")
    # template (node schema) from the sparse generator, then our own features and edges
    data = random_attribution_graph(n_layers=n_layers, n_pos=n_pos, features_per_layer=1, n_edges=0, n_logits=n_logits, error_nodes=False, seed=seed, slug=slug)
    emb = [nd for nd in data["nodes"] if nd["feature_type"] == "embedding"]
    logits = [nd for nd in data["nodes"] if nd["feature_type"] == "logit"]
    feat_layer = np.concatenate([np.arange(n_layers), rng.integers(0, n_layers, n_feat - n_layers)])
    feats = []
    for i, layer in enumerate(np.sort(feat_layer)):
        f, pos = int(rng.integers(0, 10**5)) * 1000 + i, int(rng.integers(0, n_pos))
        feats.append({"node_id": f"{layer}_{f}_{pos}", "feature": f, "layer": str(layer), "ctx_idx": pos, "feature_type": "cross layer transcoder",
                      "jsNodeId": f"{layer}_{f}-0", "clerp": "", "influence": float(rng.random()), "activation": float(rng.random() * 5)})
    errs = []
    for i in range(n_errors):
        layer, pos = int(rng.integers(0, n_layers)), int(rng.integers(0, n_pos))
        errs.append({"node_id": f"0_{layer}_{pos}_{i}", "feature": -1, "layer": str(layer), "ctx_idx": pos, "feature_type": "mlp reconstruction error",
                     "jsNodeId": f"{layer}_{pos}-{i}", "clerp": "", "influence": 0.05})
    nodes = emb + feats + errs + logits
    level = np.array([-1 if nd["layer"] == "E" else (n_layers if nd["feature_type"] == "logit" else int(nd["layer"])) for nd in nodes])
    is_err = np.array([nd["feature_type"] == "mlp reconstruction error" for nd in nodes])
    weight = rng.pareto(2.0, len(nodes)) + 0.3
    weight[level == -1] *= 3.0
    weight[level == n_layers] *= 4.0
    gap = level[None, :] - level[:, None]
    w = np.where(gap >= 1, weight[:, None] * weight[None, :] * 0.85 ** np.maximum(gap - 1, 0), 0.0)
    links = []
    for mask, m in ((~is_err[:, None] & ~is_err[None, :], n_edges), (is_err[:, None] | is_err[None, :], 12 * n_errors)):
        p = np.where(mask, w, 0.0).ravel()
        m = min(m, int(np.count_nonzero(p)))
        if m == 0:
            continue
        if m > int(np.count_nonzero(p)):
            raise ValueError(f"{m} edges do not fit among the forward pairs")
        pick = rng.choice(p.size, size=m, replace=False, p=p / p.sum())
        for a, b in zip(*np.divmod(pick, len(nodes))):
            wt = float(rng.lognormal(0.0, 1.0))
            links.append({"source": nodes[a]["node_id"], "target": nodes[b]["node_id"], "weight": -wt if rng.random() < inhibitory_fraction else wt})
    data["nodes"] = nodes
    data["links"] = links
    return data


def bench_graph_specs(count: int = 4, seed: int = 0) -> list[dict[str, int]]:
    """Sizes of the benchmark's dense graphs: 80 nodes, 1,300–1,700 edges, 6–28 layers."""
    rng = np.random.default_rng(seed)
    layers = np.linspace(6, 28, count).round().astype(int) if count > 1 else np.full(count, 12)
    return [{"n_nodes": 80, "n_edges": int(rng.integers(1300, 1701)), "n_layers": int(L), "seed": seed + i} for i, L in enumerate(layers)]
