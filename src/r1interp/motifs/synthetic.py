"""Random layered attribution graphs in circuit-tracer's JSON schema.

Why: the tests and the benchmark need graphs with the real schema (embeddings at layer "E",
features ``{layer}_{feat}_{pos}``, error nodes, logits at ``n_layers + 1``, signed weights)
without running a model. Edges only run forward (a DAG), like real attribution graphs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


def random_attribution_graph(
    n_layers: int = 6,
    n_pos: int = 8,
    features_per_layer: int = 10,
    n_edges: int = 300,
    n_logits: int = 2,
    error_nodes: bool = True,
    inhibitory_fraction: float = 0.3,
    seed: int = 0,
    slug: str = "synthetic",
    max_gap: int | None = None,
) -> dict[str, Any]:
    """A circuit-tracer graph JSON dict: random forward edges (layer gap ≥ 1, ≤ ``max_gap``)."""
    rng = np.random.default_rng(seed)
    nodes: list[dict[str, Any]] = []
    for pos in range(n_pos):
        nodes.append({"node_id": f"E_{100 + pos}_{pos}", "feature": pos, "layer": "E", "ctx_idx": pos, "feature_type": "embedding", "jsNodeId": f"E_{100 + pos}-{pos}", "clerp": "", "influence": 0.1, "activation": None})
    for layer in range(n_layers):
        feats = rng.choice(1000, size=features_per_layer, replace=False)
        for f in feats:
            pos = int(rng.integers(0, n_pos))
            nodes.append({
                "node_id": f"{layer}_{int(f)}_{pos}", "feature": (layer + int(f)) * (layer + int(f) + 1) // 2 + int(f),
                "layer": str(layer), "ctx_idx": pos, "feature_type": "cross layer transcoder", "jsNodeId": f"{layer}_{int(f)}-0",
                "clerp": f"feature {layer}/{int(f)}", "influence": float(rng.random()), "activation": float(rng.random() * 5),
            })
        if error_nodes:
            pos = int(rng.integers(0, n_pos))
            nodes.append({"node_id": f"err_{layer}_{pos}", "feature": -1, "layer": str(layer), "ctx_idx": pos, "feature_type": "mlp reconstruction error", "jsNodeId": f"{layer}_{pos}-0", "clerp": "", "influence": 0.05})
    for i in range(n_logits):
        nodes.append({"node_id": f"{n_layers + 1}_{200 + i}_{n_pos - 1}", "feature": 200 + i, "layer": str(n_layers + 1), "ctx_idx": n_pos - 1, "feature_type": "logit", "jsNodeId": f"L_{200 + i}-{n_pos - 1}", "clerp": f'Output "t{i}" (p=0.5)', "token_prob": 0.5, "is_target_logit": i == 0})

    level = np.array([-1 if n["layer"] == "E" else (n_layers if n["feature_type"] == "logit" else int(n["layer"])) for n in nodes])
    ids = [n["node_id"] for n in nodes]
    pairs: set[tuple[int, int]] = set()
    possible = sum(int(((level > lv) & ((level - lv) <= (max_gap or 10**9))).sum()) for lv in level)
    target = min(n_edges, possible)
    while len(pairs) < target:
        a, b = (int(v) for v in rng.integers(0, len(nodes), 2))
        gap = level[b] - level[a]
        if gap >= 1 and (max_gap is None or gap <= max_gap):
            pairs.add((a, b))
    links = []
    for a, b in sorted(pairs):
        w = float(rng.lognormal(0.0, 1.0))
        links.append({"source": ids[a], "target": ids[b], "weight": -w if rng.random() < inhibitory_fraction else w})
    return {
        "metadata": {"slug": slug, "scan": "synthetic", "transcoder_list": [], "prompt_tokens": [f"t{p}" for p in range(n_pos)], "prompt": "synthetic prompt", "node_threshold": 0.8, "schema_version": 1},
        "qParams": {"pinnedIds": [], "supernodes": [], "linkType": "both", "clickedId": "", "sg_pos": ""},
        "nodes": nodes,
        "links": links,
    }


def write_graph(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def write_graph_set(
    graphs_dir: str | Path,
    model: str,
    n_prompts: int = 6,
    phases: tuple[str, ...] = ("full",),
    categories: tuple[str, ...] = ("arithmetic", "comparison"),
    n_layers: int = 4,
    n_edges: int = 150,
    seed: int = 0,
    source: str = "own",
) -> Path:
    """A graph stage-like dir: ``{graph_id}.json`` files plus ``index.parquet`` (the motif input).

    Index columns as the graph stage writes them (``model, graph_id, prompt_id, category, phase,
    position, rule, target_token, status, generation, correct, needs_reasoning, file, built, reason``);
    phase k of a prompt sits at position ``10 + k``, so two sets written with the same prompts and
    phases pair graph by graph. Returns the index path.
    """
    import pandas as pd

    graphs_dir = Path(graphs_dir)
    rows = []
    for p in range(n_prompts):
        for k, phase in enumerate(phases):
            position = 10 + k
            gid = f"p{p}-{phase}-p{position}"
            data = random_attribution_graph(n_layers=n_layers, n_edges=n_edges + 7 * p + 11 * k, seed=seed * 10007 + 101 * p + k, slug=gid)
            write_graph(data, graphs_dir / f"{gid}.json")
            correct = bool(p % 3)
            rows.append({"model": model, "graph_id": gid, "prompt_id": f"p{p}", "category": categories[p % len(categories)], "phase": phase,
                         "position": position, "rule": "boxed" if phase == "answer" else "result", "target_token": str(k),
                         "status": "correct" if correct else "incorrect", "generation": source, "correct": correct,
                         "needs_reasoning": True, "file": f"{gid}.json", "built": True, "reason": ""})
    index = graphs_dir / "index.parquet"
    pd.DataFrame(rows).to_parquet(index, index=False)
    return index
