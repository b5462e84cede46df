"""Feature tables ``results/{model}/features/L{layer}.stats.parquet`` and ``.examples.parquet``.

Written by the features stage (schemas in the :mod:`r1interp.features` docstring); read by
autointerp, the graph viewer files and notebooks through :func:`read_feature_table`. The
histogram readers (:func:`quantiles_from_hist`, :func:`rebin_linear`) turn a stats row's
log-grid ``hist_counts``/``hist_edges`` into quantiles or equal-width bins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from r1interp.artifacts.paths import layer_file
from r1interp.artifacts.tables import ArtifactFileError


class FeatureTableError(ArtifactFileError):
    """A feature table that is missing, unreadable or lacks a column; the message names the file."""


def stats_path(features_dir: str | Path, layer: int) -> Path:
    return layer_file(features_dir, layer, ".stats.parquet")


def examples_path(features_dir: str | Path, layer: int) -> Path:
    return layer_file(features_dir, layer, ".examples.parquet")


def check_table(path: str | Path, required: Iterable[str]) -> None:
    """Fail naming the file unless it is a readable parquet file with the ``required`` columns."""
    path = Path(path)
    if not path.is_file():
        raise FeatureTableError(f"{path}: file not found")
    try:
        names = set(pq.read_schema(path).names)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise FeatureTableError(f"{path}: not a readable parquet file ({e})") from e
    missing = [c for c in required if c not in names]
    if missing:
        raise FeatureTableError(f"{path}: missing column(s) {missing}")


def read_feature_table(path: str | Path, required: Iterable[str], columns: list[str] | None = None,
                       feature_ids: Iterable[int] | None = None) -> pd.DataFrame:
    """The table (only ``columns`` when given; only rows of ``feature_ids`` when given), checked."""
    required = list(required)
    check_table(path, required)
    filters = [("feature_id", "in", sorted({int(f) for f in feature_ids}))] if feature_ids is not None else None
    return pq.read_table(path, columns=columns, filters=filters).to_pandas()


def quantiles_from_hist(counts: np.ndarray, edges: np.ndarray, probs: np.ndarray, max_act: np.ndarray | None = None) -> np.ndarray:
    """``[F, Q]`` quantiles by linear interpolation inside the bin that holds each rank.

    The top edge is capped at ``max_act`` when given (it is the true maximum); features with no
    counts get 0.
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64).copy()
    probs = np.asarray(probs, dtype=np.float64)
    n_feat, n_slots = counts.shape
    if max_act is not None:
        edges[:, -1] = np.minimum(edges[:, -1], np.asarray(max_act, dtype=np.float64))
    total = counts.sum(1)
    cum = counts.cumsum(1)
    # a tiny floor makes p=0 land in the first non-empty slot instead of slot 0
    target = np.maximum(probs[None, :] * total[:, None], 1e-9)  # [F, Q]
    j = (cum[:, None, :] < target[:, :, None]).sum(-1).clip(0, n_slots - 1)  # slot holding the rank
    rows = np.arange(n_feat)[:, None]
    below = np.where(j > 0, cum[rows, np.maximum(j - 1, 0)], 0.0)
    inside = counts[rows, j]
    frac = np.divide(target - below, inside, out=np.zeros_like(target), where=inside > 0).clip(0.0, 1.0)
    lo, hi = edges[rows, j], edges[rows, j + 1]
    out = lo + frac * np.maximum(hi - lo, 0.0)
    out[total == 0] = 0.0
    return out


def rebin_linear(counts: np.ndarray, edges: np.ndarray, n_bins: int, lo: float, hi: float) -> np.ndarray:
    """Spread one feature's log-grid counts over ``n_bins`` equal bins on ``[lo, hi]``.

    Why: circuit-tracer's viewer draws ``histogram`` as equal-width bins between ``act_min`` and
    ``act_max``; counts are split in proportion to bin overlap (uniform density inside a bin).
    """
    counts = np.asarray(counts, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if hi <= lo:
        out = np.zeros(n_bins)
        out[-1] = counts.sum()
        return out
    lin = np.linspace(lo, hi, n_bins + 1)
    left = np.maximum(edges[:-1, None], lin[None, :-1])
    right = np.minimum(edges[1:, None], lin[None, 1:])
    width = np.maximum(edges[1:] - edges[:-1], 1e-30)[:, None]
    share = np.clip(right - left, 0.0, None) / width  # [B, n_bins]
    out = counts @ share
    lost = counts.sum() - out.sum()  # mass outside [lo, hi] (rounding, or hi below the top edge)
    if lost > 0:
        out[-1] += lost
    return out
