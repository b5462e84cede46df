"""FFL instances with roles read from their own edges, processing-stage tiers, and cascades.

Roles: in a feed-forward loop the **source** sends to both others, the **mediator** receives
from the source and sends to the target, the **target** receives from both. circuit-motifs
assigns roles by VF2's pattern order and ends up calling the sink "regulator"; here each role
is determined by the instance's edges (``tests/test_motifs_instances`` uses a hand-built graph).

Tiers: embeddings are tier 0, logits tier ``n_stages + 1``, and the transformer layers
``0..n_layers-1`` split into ``n_stages`` equal bands — scaled to the model's own layer count
(circuit-motifs hard-codes the bands of an 18-layer model).
"""

from __future__ import annotations

import igraph as ig
import numpy as np
import pandas as pd

from r1interp.artifacts.motifs import tier_names
from r1interp.motifs.census import match_pairs
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.loader import infer_n_layers
from r1interp.motifs.signed import FFL_TYPE_OF_PATTERN, is_coherent, sign_string

def stage_tier(layer: np.ndarray | int, n_layers: int, n_stages: int = 3) -> np.ndarray:
    """Tier per layer: 0 embeddings (layer < 0), 1..n_stages the layer bands, n_stages+1 logits."""
    if n_layers < 1 or n_stages < 1:
        raise ValueError(f"need n_layers >= 1 and n_stages >= 1, got {n_layers}, {n_stages}")
    layer = np.asarray(layer, dtype=np.int64)
    body = 1 + (np.clip(layer, 0, n_layers - 1) * n_stages) // n_layers
    return np.where(layer < 0, 0, np.where(layer >= n_layers, n_stages + 1, body))


def ffl_instances(g: ig.Graph, top_k: int = 50, n_layers: int | None = None, n_stages: int = 3) -> pd.DataFrame:
    """The ``top_k`` FFLs (induced 030T) by total ``|w|``, one row each, with roles and tiers."""
    cols = [
        "rank", "source", "mediator", "target", "source_layer", "mediator_layer", "target_layer",
        "source_pos", "mediator_pos", "target_pos", "w_source_mediator", "w_mediator_target", "w_source_target",
        "total_weight", "signs", "ffl_type", "coherent", "source_tier", "mediator_tier", "target_tier", "stage",
        "source_clerp", "mediator_clerp", "target_clerp",
    ]
    if g.ecount() == 0:
        return pd.DataFrame(columns=cols)
    n_layers = infer_n_layers(g) if n_layers is None else int(n_layers)
    e = EdgeSet.from_igraph(g, n_layers)
    raw = np.asarray(g.es["raw_weight"], dtype=np.float64)
    n = e.n
    key = e.src * n + e.dst
    order = np.argsort(key)
    skey = key[order]

    def edge_of(q: np.ndarray) -> np.ndarray:
        pos = np.minimum(np.searchsorted(skey, q), skey.size - 1)
        return np.where(skey[pos] == q, order[pos], -1)

    mutual = edge_of(e.dst * n + e.src) >= 0
    found = []
    for e1, e2 in match_pairs(e.dst, e.src, n):
        x, y = e.src[e1], e.dst[e2]
        ok = (x != y) & ~mutual[e1] & ~mutual[e2]
        e1, e2, x, y = e1[ok], e2[ok], x[ok], y[ok]
        direct = edge_of(x * n + y)
        back = edge_of(y * n + x)
        ok = (direct >= 0) & (back < 0)
        found.append(np.stack([e1[ok], e2[ok], direct[ok]], axis=1))
    tri = np.concatenate(found) if found else np.zeros((0, 3), np.int64)
    if tri.size == 0:
        return pd.DataFrame(columns=cols)
    total = np.abs(raw[tri]).sum(axis=1)
    pick = np.argsort(-total, kind="stable")[:top_k]
    tri, total = tri[pick], total[pick]
    xs, ms, ts = e.src[tri[:, 0]], e.dst[tri[:, 0]], e.dst[tri[:, 1]]
    w = raw[tri]
    pattern = (w[:, 0] < 0) * 4 + (w[:, 1] < 0) * 2 + (w[:, 2] < 0)
    names = np.asarray(g.vs["name"], dtype=object)
    pos = np.asarray(g.vs["ctx_idx"]) if "ctx_idx" in g.vs.attributes() else np.full(n, -1)
    clerp = np.asarray(g.vs["clerp"], dtype=object) if "clerp" in g.vs.attributes() else np.full(n, "", dtype=object)
    tiers = stage_tier(e.layer, max(n_layers, 1), n_stages)
    tn = tier_names(n_stages)
    return pd.DataFrame(
        {
            "rank": np.arange(len(pick)),
            "source": names[xs], "mediator": names[ms], "target": names[ts],
            "source_layer": e.layer[xs], "mediator_layer": e.layer[ms], "target_layer": e.layer[ts],
            "source_pos": pos[xs], "mediator_pos": pos[ms], "target_pos": pos[ts],
            "w_source_mediator": w[:, 0], "w_mediator_target": w[:, 1], "w_source_target": w[:, 2],
            "total_weight": total,
            "signs": [sign_string(int(p)) for p in pattern],
            "ffl_type": [FFL_TYPE_OF_PATTERN[int(p)] for p in pattern],
            "coherent": [is_coherent(int(p)) for p in pattern],
            "source_tier": tiers[xs], "mediator_tier": tiers[ms], "target_tier": tiers[ts],
            "stage": [tn[t] for t in tiers[ms]],
            "source_clerp": clerp[xs], "mediator_clerp": clerp[ms], "target_clerp": clerp[ts],
        },
        columns=cols,
    )


def ffl_cascades(instances: pd.DataFrame) -> pd.DataFrame:
    """Add ``cascade`` (component id) and ``cascade_size``: instances chained through shared nodes.

    Instance i feeds j when i's target or mediator is j's source or mediator (information flows
    on through a node), the layer-spanning chains circuit-motifs draws as cascades.
    """
    out = instances.copy()
    k = len(out)
    if k == 0:
        out["cascade"] = pd.Series(dtype=np.int64)
        out["cascade_size"] = pd.Series(dtype=np.int64)
        return out
    down = [set(r) for r in zip(out["mediator"], out["target"])]
    up = [set(r) for r in zip(out["source"], out["mediator"])]
    edges = [(i, j) for i in range(k) for j in range(k) if i != j and down[i] & up[j]]
    comp = ig.Graph(n=k, edges=edges).connected_components().membership
    out["cascade"] = np.asarray(comp, dtype=np.int64)
    out["cascade_size"] = out.groupby("cascade")["rank"].transform("size").astype(np.int64)
    return out
