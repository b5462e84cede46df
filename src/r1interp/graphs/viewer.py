"""Per-feature JSON for circuit-tracer's local viewer, from the features stage's tables.

What the stock viewer (``circuit_tracer/frontend/assets``) does, and therefore what we write:

- It loads a feature as ``{scan}/{feature}.json`` only when the graph's ``metadata.scan`` starts
  with ``./``; any other scan is fetched from Hugging Face / a CDN. The local server serves
  ``/data/<path>`` from the graph directory. So a graph dir ``G`` holds the files at
  ``G/features/{name}/{cantor_id}.json`` and graphs carry ``scan = "./data/features/{name}"``
  (:func:`viewer_scan`).
- The file follows ``circuit_tracer.frontend.feature_models.Model``: ``histogram`` is drawn as
  equal-width bins between ``act_min`` and ``act_max``; ``quantile_values[i]`` is read as the
  ``(i+1)``-th percentile. Our histograms are on a log grid (``r1interp.features.hist``), so we
  re-bin them to equal width on ``[0, max_act]`` (uniform density inside a source bin) and read
  the 100 percentiles off the same histogram; both describe *active* activations.
- ``examples_quantiles``: the top-activating windows first ("Top activations"), then each
  quantile bin (highest bin first). Negative (non-activating) windows are left out.
- ``activation_frequency`` is ``frac_active``; ``index`` is the Cantor id (the file name).

The histogram maths is the feature tables' own (``rebin_linear``, ``quantiles_from_hist``), so
the viewer's percentiles agree with the ``quantiles`` column of the stats table.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from r1interp.artifacts.features import examples_path, quantiles_from_hist, read_feature_table, rebin_linear, stats_path
from r1interp.artifacts.write import atomic_path
from r1interp.graphs.export import cantor

log = logging.getLogger(__name__)

N_HIST_BINS = 50
STATS_COLUMNS = ["feature_id", "frac_active", "max_act", "hist_counts", "hist_edges", "top_logits", "bottom_logits"]
EXAMPLE_COLUMNS = ["feature_id", "kind", "quantile_bin", "rank", "doc_id", "start", "tokens", "acts", "max_idx", "act_max"]


def viewer_scan(name: str) -> str:
    """The ``metadata.scan`` that makes the stock viewer read features from ``features/{name}/``."""
    return f"./data/features/{name}"


def linear_histogram(counts: np.ndarray, edges: np.ndarray, max_act: float, n_bins: int = N_HIST_BINS) -> tuple[np.ndarray, float, float]:
    """Equal-width histogram over ``[0, max_act]`` of a log-grid one: ``(counts, act_min, act_max)``."""
    hi = max(float(max_act), 1e-6)
    return rebin_linear(counts, edges, n_bins, 0.0, hi), 0.0, hi


def percentiles(counts: np.ndarray, edges: np.ndarray, max_act: float) -> list[float]:
    """The 1st..100th percentiles of active activations (linear inside bins); [] when empty."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        return []
    q = quantiles_from_hist(counts[None], np.asarray(edges, dtype=np.float64)[None], np.arange(1, 101) / 100, np.array([max_act]))
    return q[0].tolist()


def _token_strings(values: Any, tokenizer) -> list[str]:
    out = []
    for v in list(values if values is not None else []):
        if isinstance(v, str):
            out.append(v)
        elif tokenizer is not None:
            out.append(tokenizer.decode([int(v)]))
        else:
            out.append(str(int(v)))
    return out


def feature_json(layer: int, feat: int, stats: Mapping[str, Any], examples: pd.DataFrame, transcoder_id: str,
                 tokenizer=None) -> dict[str, Any]:
    """One viewer feature file (validated against circuit-tracer's ``feature_models.Model``)."""
    from circuit_tracer.frontend.feature_models import Model

    counts = np.asarray(stats["hist_counts"] if stats["hist_counts"] is not None else [], dtype=np.float64)
    edges = np.asarray(stats["hist_edges"] if stats["hist_edges"] is not None else [], dtype=np.float64)
    if len(counts) and len(edges) != len(counts) + 1:
        raise ValueError(f"layer {layer} feature {feat}: {len(counts)} hist_counts but {len(edges)} hist_edges")
    max_act = float(stats.get("max_act") or 0.0)
    if len(counts):
        hist, act_min, act_max = linear_histogram(counts, edges, max_act)
        quantile_values = percentiles(counts, edges, max_act)
    else:  # no histogram stored: an empty one over [0, max_act]
        hist, act_min, act_max, quantile_values = np.zeros(N_HIST_BINS), 0.0, max(max_act, 1e-6), []
    groups = []
    seen: set[tuple[int, int]] = set()
    top = examples[examples["kind"] == "top"].sort_values("rank")
    quant = examples[examples["kind"] == "quantile"]
    bins = sorted(quant["quantile_bin"].unique(), key=lambda b: -quant.loc[quant["quantile_bin"] == b, "act_max"].max())
    for name, rows in [("Top activations", top)] + [(f"Quantile bin {int(b)}", quant[quant["quantile_bin"] == b].sort_values("rank")) for b in bins]:
        exs = []
        for r in rows.itertuples(index=False):
            key = (int(r.doc_id), int(r.start))
            exs.append({
                "tokens_acts_list": [float(a) for a in r.acts], "train_token_ind": int(r.max_idx),
                "is_repeated_datapoint": key in seen, "tokens": [str(t) for t in r.tokens],
            })
            seen.add(key)
        if exs:
            groups.append({"quantile_name": name, "examples": exs})
    data = {
        "transcoder_id": transcoder_id, "index": cantor(layer, feat), "examples_quantiles": groups,
        "top_logits": _token_strings(stats.get("top_logits"), tokenizer),
        "bottom_logits": _token_strings(stats.get("bottom_logits"), tokenizer),
        "act_min": float(act_min), "act_max": float(act_max),
        "quantile_values": quantile_values,
        "histogram": [float(h) for h in hist], "activation_frequency": float(stats["frac_active"]),
    }
    Model.model_validate(data)
    return data


def read_feature_tables(features_dir: str | Path, layer: int, feats: Iterable[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stats and example rows of the given features only (pyarrow filter; a real layer is big)."""
    feats = sorted({int(f) for f in feats})
    stats = read_feature_table(stats_path(features_dir, layer), STATS_COLUMNS, feature_ids=feats)
    examples = read_feature_table(examples_path(features_dir, layer), EXAMPLE_COLUMNS, feature_ids=feats)
    return stats, examples


def write_feature_files(keys: Iterable[tuple[int, int]], features_dir: str | Path, dest: str | Path, transcoder_id: str,
                        tokenizer=None) -> int:
    """Write ``dest/{cantor}.json`` for every (layer, feature) in ``keys``; replaces ``dest`` whole."""
    by_layer: dict[int, set[int]] = defaultdict(set)
    for layer, feat in keys:
        by_layer[int(layer)].add(int(feat))
    n = 0
    with atomic_path(dest) as tmp:
        tmp.mkdir()
        for layer in sorted(by_layer):
            stats, examples = read_feature_tables(features_dir, layer, by_layer[layer])
            stats = stats.set_index("feature_id")
            ex_groups = dict(tuple(examples.groupby("feature_id")))
            for feat in sorted(by_layer[layer]):
                if feat not in stats.index:
                    log.warning("layer %d feature %d is in a graph but not in the stats table; no viewer file", layer, feat)
                    continue
                ex = ex_groups.get(feat, examples.iloc[0:0])
                data = feature_json(layer, feat, stats.loc[feat], ex, transcoder_id, tokenizer)
                (tmp / f"{cantor(layer, feat)}.json").write_text(json.dumps(data))
                n += 1
    return n
