"""Compile the null-model chains into numba's on-disk cache ahead of the motif jobs.

Why: numba compiles the chains on first use (about two minutes on 2 CPU cores, most of it the one
swap-chain kernel) and caches them next to the source (``__pycache__``), keyed by the source file.
On a fresh checkout every motif job that starts before the cache exists compiles again; a cluster
run would pay it once per job. ``r1interp motifs warm`` pays it once, before the jobs.
"""

from __future__ import annotations

import time

import numpy as np

from r1interp.motifs import swapchain


def cache_is_warm() -> bool:
    """Whether numba's cache (wherever ``NUMBA_CACHE_DIR`` puts it) holds the swap-chain kernel
    compiled from the current ``swapchain.py``: numba's own index, which it discards when the
    source's stamp changed. Any failure to read it counts as cold."""
    try:
        return bool(swapchain.run_chain._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - a private numba API: cold is the safe answer
        return False


def warm() -> float:
    """Run every compiled path once on a small synthetic graph (every null model with triad and
    signed counts, kept and shuffled signs; edge-list batches; the bare chain); returns the seconds."""
    from r1interp.motifs.config import MotifsConfig
    from r1interp.motifs.edges import EdgeSet
    from r1interp.motifs.loader import parse_attribution_graph
    from r1interp.motifs.nulls import NULL_MODELS, NullModel
    from r1interp.motifs.profile import analyse_graph
    from r1interp.motifs.synthetic import random_attribution_graph

    t0 = time.perf_counter()
    g = parse_attribution_graph(random_attribution_graph(n_layers=4, n_pos=4, features_per_layer=6, n_edges=120, seed=3))
    edges = EdgeSet.from_igraph(g, 4)
    rng = np.random.default_rng(0)
    for model in NULL_MODELS:
        for mode in ("keep", "shuffle"):
            cfg = MotifsConfig.from_dict({"triad_null": {"model": model, "n_samples": 4},
                                          "signed": {"enabled": True, "null_model": model, "sign_mode": mode, "n_samples": 4}})
            analyse_graph(g, cfg, np.random.SeedSequence(0), n_layers=4)
        for batch in NullModel(edges, model, "keep", signed=True).batches(2, rng):
            batch.triad_census()
    for keep in (False, True):  # the bare chain (recordings, bench_thinning)
        NullModel(edges, "layer_configuration", "keep", signed=keep).chain(rng).run(10)
    return time.perf_counter() - t0
