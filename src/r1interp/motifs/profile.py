"""Per-graph motif profiles: census, null ensembles, Z/SP, signed motifs, FFL instances.

Output tables (written by the CLI, read by :mod:`r1interp.compare`):

``profiles.parquet`` — one row per graph × motif:
    ``model, graph_id, prompt_id, category, phase, correct, needs_reasoning`` (from the index),
    ``family`` (``triad`` | ``signed`` | ``size4``), ``motif`` (standard label, see
    :mod:`.labels`), ``motif_index`` (igraph isoclass id, or the position in
    ``signed.ALL_SIGNED``), ``count`` (int), ``null_mean``, ``null_std``, ``z``, ``sp``
    (float; ``sp`` is normalised within the family, NaN for the signed aggregates),
    ``null_model``, ``n_samples``, ``n_nodes``, ``n_edges``.
``ffl_instances.parquet`` — the top FFLs of every graph (:func:`instances.ffl_instances`
    columns plus the id columns and ``cascade``/``cascade_size``).
``graphs.parquet`` — one row per graph: id columns, ``n_nodes, n_edges, n_inhibitory,
    prompt, threshold, n_layers, census_method, seconds``.

Seeding: every graph draws from ``SeedSequence([seed, crc32(graph_id)])``, so a graph's nulls
do not depend on which other graphs are in the run or on their order.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import igraph as ig
import numpy as np
import pandas as pd

from r1interp.artifacts import motif_labels as L
from r1interp.artifacts.graphs import read_graph_index
from r1interp.motifs import signed as SG
from r1interp.motifs.census import census_edges, census_igraph
from r1interp.motifs.config import MotifsConfig
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.instances import ffl_cascades, ffl_instances
from r1interp.motifs.loader import DEFAULT_EXCLUDE_TYPES, graph_summary, infer_n_layers, load_attribution_graph
from r1interp.motifs.nulls import NullModel
from r1interp.motifs.stats import ZResult, z_profile

log = logging.getLogger(__name__)

# position/rule/status/generation/target_token come from the graph index: a comparison pairs graphs by
# (prompt, phase, position) and every table can say which tokens it explains.
ID_COLUMNS = ["model", "graph_id", "prompt_id", "category", "phase", "position", "rule", "target_token", "status", "generation",
              "correct", "needs_reasoning"]
PROFILE_COLUMNS = ID_COLUMNS + ["family", "motif", "motif_index", "count", "null_mean", "null_std", "z", "sp", "null_model", "n_samples", "n_nodes", "n_edges"]


def graph_seed(seed: int, graph_id: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), zlib.crc32(graph_id.encode())])


def null_triad_counts(edges: EdgeSet, model: str, n_samples: int, rng: np.random.Generator, bitmap_bytes: int) -> np.ndarray:
    """``[n_samples, 16]`` census of a null ensemble."""
    return NullModel(edges, model).triad_counts(n_samples, rng)


def null_signed_counts(edges: EdgeSet, model: str, sign_mode: str, n_samples: int, rng: np.random.Generator, gaps: SG.GapLimits, bitmap_bytes: int) -> np.ndarray:
    """``[n_samples, len(SIGNED_MOTIFS)]`` signed counts of a signed null ensemble."""
    return NullModel(edges, model, sign_mode, signed=True).signed_counts(n_samples, rng, gaps)


def null_size4_counts(edges: EdgeSet, model: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_samples, 218]`` size-4 census of a null ensemble (igraph per sample)."""
    nm = NullModel(edges, model)
    out = []
    for b in nm.batches(n_samples, rng):
        for s in range(b.size):
            g = ig.Graph(n=edges.n, edges=np.column_stack([b.src[s], b.dst[s]]).tolist(), directed=True)
            out.append(census_igraph(g, 4))
    return np.stack(out)


def _rows(family: str, names: list[str], res: ZResult, null_model: str) -> list[dict[str, Any]]:
    return [
        {
            "family": family, "motif": name, "motif_index": i, "count": int(res.real[i]),
            "null_mean": float(res.mean[i]), "null_std": float(res.std[i]), "z": float(res.z[i]), "sp": float(res.sp[i]),
            "null_model": null_model, "n_samples": res.n_samples,
        }
        for i, name in enumerate(names)
    ]


@dataclass
class GraphAnalysis:
    profile: pd.DataFrame
    instances: pd.DataFrame
    summary: dict[str, Any]
    census: np.ndarray


def analyse_graph(g: ig.Graph, cfg: MotifsConfig, seed: np.random.SeedSequence, n_layers: int | None = None) -> GraphAnalysis:
    """Everything the motif stage computes for one loaded graph (see module doc)."""
    t0 = time.perf_counter()
    n_layers = infer_n_layers(g) if n_layers is None else int(n_layers)
    edges = EdgeSet.from_igraph(g, n_layers) if g.ecount() else EdgeSet.from_arrays(g.vcount(), [], [], layer=np.zeros(g.vcount(), np.int64))
    s_triad, s_signed, s_size4 = (np.random.default_rng(s) for s in seed.spawn(3))
    census = census_edges(edges)
    rows: list[dict[str, Any]] = []
    if edges.m >= 2:
        null = null_triad_counts(edges, cfg.triad_null.model, cfg.triad_null.n_samples, s_triad, cfg.bitmap_bytes)
        rows += _rows("triad", list(L.TRIAD_LABELS), z_profile(census, null), cfg.triad_null.model)
        if cfg.signed.enabled:
            real = SG.with_aggregates(SG.signed_counts(edges, cfg.signed.gaps))
            null_s = SG.with_aggregates(null_signed_counts(edges, cfg.signed.null_model, cfg.signed.sign_mode, cfg.signed.n_samples, s_signed, cfg.signed.gaps, cfg.bitmap_bytes))
            mask = np.arange(len(SG.ALL_SIGNED)) < len(SG.SIGNED_MOTIFS)
            rows += _rows("signed", list(SG.ALL_SIGNED), z_profile(real, null_s, mask), f"{cfg.signed.null_model}/{cfg.signed.sign_mode}")
        if cfg.size4.enabled:
            real4 = census_igraph(edges.to_igraph(), 4)
            null4 = null_size4_counts(edges, cfg.size4.null_model, cfg.size4.n_samples, s_size4)
            rows += _rows("size4", [f"s4_{i}" for i in range(real4.size)], z_profile(real4, null4), cfg.size4.null_model)
    else:
        log.warning("graph %s has %d edges after thresholding: no null ensemble, no Z-scores", g["slug"] if "slug" in g.attributes() else "?", edges.m)
    inst = ffl_cascades(ffl_instances(g, cfg.ffl_top_k, n_layers, cfg.n_stages))
    summary = graph_summary(g)
    summary.update({"n_layers": n_layers, "census_method": "dag" if not edges.has_mutual() and (edges.m == 0 or edges.to_igraph().is_dag()) else "closed", "seconds": time.perf_counter() - t0})
    return GraphAnalysis(pd.DataFrame(rows), inst, summary, census)


def load_for_motifs(path: str | Path, cfg: MotifsConfig) -> ig.Graph:
    exclude = frozenset() if cfg.include_errors else DEFAULT_EXCLUDE_TYPES
    return load_attribution_graph(path, cfg.threshold, exclude)


def analyse_file(path: str | Path, ids: dict[str, Any], cfg: MotifsConfig, seed: int, n_layers: int | None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Load and analyse one graph file; returns (profile rows, instances, graph row) with ids."""
    g = load_for_motifs(path, cfg)
    res = analyse_graph(g, cfg, graph_seed(seed, str(ids["graph_id"])), n_layers)
    prof = res.profile
    for k, v in ids.items():
        prof[k] = v
        res.instances[k] = v
    prof["n_nodes"] = g.vcount()
    prof["n_edges"] = g.ecount()
    row = {**ids, **{k: res.summary[k] for k in ("n_nodes", "n_edges", "n_inhibitory", "prompt", "n_layers", "census_method", "seconds")}, "threshold": g["threshold"]}
    for i in L.CONNECTED:
        row[f"census_{L.TRIAD_LABELS[i]}"] = int(res.census[i])
    return prof, res.instances, row


def read_index(path: str | Path) -> pd.DataFrame:
    """The graph stage's ``index.parquet``, checked for the columns this stage needs."""
    path = Path(path)
    df = read_graph_index(path)
    if "built" in df.columns:  # graphs the graph stage could not build are listed with their reason
        skipped = df[~df["built"].astype(bool)]
        for r in skipped.itertuples():
            log.info("no graph for %s %s: %s", r.prompt_id, r.graph_id or "", getattr(r, "reason", ""))
        df = df[df["built"].astype(bool)].reset_index(drop=True)
    if df["graph_id"].duplicated().any():
        raise ValueError(f"{path}: repeated graph_id values {sorted(df.loc[df['graph_id'].duplicated(), 'graph_id'].unique())[:5]}")
    for col, default in (("correct", pd.NA), ("needs_reasoning", pd.NA), ("position", -1), ("rule", ""), ("target_token", ""),
                         ("status", ""), ("generation", "own")):
        if col not in df.columns:
            df[col] = default
    return df


def graph_files(index: pd.DataFrame, graphs_dir: str | Path) -> list[Path]:
    """Graph JSON path per index row (``file`` column when present, else ``{graph_id}.json``)."""
    graphs_dir = Path(graphs_dir)
    files = [graphs_dir / (str(f) if "file" in index.columns and isinstance(f, str) and f else f"{gid}.json") for gid, f in zip(index["graph_id"], index["file"] if "file" in index.columns else [None] * len(index))]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"graph files listed in the index are missing: {missing[:5]} ({len(missing)} in all)")
    return files


def category_index(root: str | Path, model: str) -> tuple[pd.DataFrame, list[Path]]:
    """Index of an external ``{category}/*.json`` directory (e.g. Anthropic's published graphs)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"external graph dir not found: {root}")
    rows, files = [], []
    for cat in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(cat.glob("*.json")):
            rows.append({"model": model, "graph_id": f"{cat.name}/{f.stem}", "prompt_id": f.stem, "category": cat.name, "phase": "full",
                         "position": -1, "rule": "", "target_token": "", "status": "", "generation": "external", "correct": pd.NA,
                         "needs_reasoning": pd.NA})
            files.append(f)
    if not rows:
        raise FileNotFoundError(f"{root}: no {{category}}/*.json graph files")
    return pd.DataFrame(rows), files
