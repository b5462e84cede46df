"""Turn one layer's streaming state into the stats and examples tables (Arrow, feature chunks).

Why chunks of features: a real layer's examples table holds ~49k features × ~50 windows × ~33
tokens; building it a few thousand features at a time keeps host memory flat while the Parquet
writer streams row groups out.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import torch

from r1interp.artifacts.features import quantiles_from_hist
from r1interp.artifacts.segments import SEGMENT_NAMES
from r1interp.features.accumulate import LayerAccumulator, NegativePool, to_numpy
from r1interp.features.config import FeatureConfig
from r1interp.features.corpus import Corpus, window_tokens
from r1interp.features.hist import feature_edges

KIND_ORDER = {"top": 0, "quantile": 1, "negative": 2}

STATS_SCHEMA = pa.schema(
    [("feature_id", pa.int64()), ("frac_active", pa.float64())]
    + [(f"frac_active_{SEGMENT_NAMES[s]}", pa.float64()) for s in (1, 2, 3, 0)]
    + [("max_act", pa.float64()), ("mean_act", pa.float64()), ("quantiles", pa.list_(pa.float64())),
       ("hist_counts", pa.list_(pa.int64())), ("hist_edges", pa.list_(pa.float64())),
       ("top_logits", pa.list_(pa.string())), ("top_logit_values", pa.list_(pa.float64())),
       ("bottom_logits", pa.list_(pa.string())), ("bottom_logit_values", pa.list_(pa.float64()))]
)

EXAMPLES_SCHEMA = pa.schema([
    ("feature_id", pa.int64()), ("kind", pa.string()), ("quantile_bin", pa.int32()), ("rank", pa.int32()),
    ("doc_id", pa.int64()), ("start", pa.int32()), ("token_ids", pa.list_(pa.int32())),
    ("tokens", pa.list_(pa.string())), ("acts", pa.list_(pa.float32())), ("max_idx", pa.int32()),
    ("act_max", pa.float64()),
])


def _lists(values: np.ndarray, offsets: np.ndarray, type_: pa.DataType) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)), pa.array(values, type=type_))


def _fixed_lists(matrix: np.ndarray, type_: pa.DataType) -> pa.ListArray:
    n, m = matrix.shape
    return _lists(matrix.reshape(-1), np.arange(n + 1) * m, type_)


def stats_table(acc: LayerAccumulator, n_tokens: int, seg_tokens: np.ndarray, cfg: FeatureConfig,
                logits: tuple[np.ndarray, ...], vocab: np.ndarray) -> pa.Table:
    """One row per feature (see the package docstring for the columns)."""
    count = to_numpy(acc.count).astype(np.float64)
    seg = to_numpy(acc.seg_count).astype(np.float64)
    max_act = to_numpy(acc.max).astype(np.float64)
    counts = to_numpy(acc.hist)
    edges = feature_edges(to_numpy(acc.hist_top), counts.shape[1], cfg.hist_bins_per_octave).astype(np.float64)
    quant = quantiles_from_hist(counts, edges, np.asarray(cfg.quantiles), max_act)
    mean = np.divide(to_numpy(acc.sum), count, out=np.zeros_like(count), where=count > 0)
    cols: dict[str, pa.Array] = {
        "feature_id": pa.array(np.arange(acc.n_features, dtype=np.int64)),
        "frac_active": pa.array(count / n_tokens if n_tokens else np.full_like(count, np.nan)),
    }
    for s in (1, 2, 3, 0):
        frac = seg[s] / seg_tokens[s] if seg_tokens[s] else np.full_like(count, np.nan)
        cols[f"frac_active_{SEGMENT_NAMES[s]}"] = pa.array(frac)
    top_ids, top_vals, bot_ids, bot_vals = logits
    cols.update({
        "max_act": pa.array(max_act), "mean_act": pa.array(mean),
        "quantiles": _fixed_lists(quant, pa.float64()),
        "hist_counts": _fixed_lists(counts.astype(np.int64), pa.int64()),
        "hist_edges": _fixed_lists(edges, pa.float64()),
        "top_logits": _fixed_lists(vocab[top_ids], pa.string()),
        "top_logit_values": _fixed_lists(top_vals.astype(np.float64), pa.float64()),
        "bottom_logits": _fixed_lists(vocab[bot_ids], pa.string()),
        "bottom_logit_values": _fixed_lists(bot_vals.astype(np.float64), pa.float64()),
    })
    return pa.table(cols, schema=STATS_SCHEMA)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within runs of equal consecutive group keys."""
    if len(groups) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.concatenate([[True], groups[1:] != groups[:-1]])
    starts = np.flatnonzero(new)
    return np.arange(len(groups)) - np.repeat(starts, np.diff(np.concatenate([starts, [len(groups)]])))


def _slot_rows(buf, f0: int, f1: int) -> dict[str, np.ndarray]:
    """Filled slots of features ``f0:f1`` as flat arrays (feature-major)."""
    fi, si = np.nonzero(to_numpy(buf.filled()[f0:f1]))
    out = {name: to_numpy(getattr(buf, name)[f0:f1])[fi, si] for name in ("score", "value", "row", "pos", "start", "length")}
    out["acts"] = to_numpy(buf.acts[f0:f1].float())[fi, si]
    out["feature"] = fi + f0
    return out


def _top_rows(acc: LayerAccumulator, f0: int, f1: int) -> dict[str, np.ndarray]:
    r = _slot_rows(acc.top, f0, f1)
    order = np.lexsort((-r["value"], r["feature"]))
    r = {k: v[order] for k, v in r.items()}
    r["rank"] = _rank_within(r["feature"])
    r["bin"] = np.full(len(order), -1)
    return r


def _quantile_rows(acc: LayerAccumulator, f0: int, f1: int, cfg: FeatureConfig) -> dict[str, np.ndarray]:
    """Stratify each feature's uniform reservoir into ``quantile_bins`` equal-count bins by rank.

    Why by rank within the sample (as delphi does) rather than by histogram quantiles: the sample
    is uniform over active occurrences, so its rank bins are equal-probability bins of the
    activation distribution in expectation, every bin is filled whenever the reservoir holds
    ``quantile_bins × quantile_per_bin`` entries, and atoms (identical values from shared prompt
    prefixes) cannot empty a bin. ``quantile_per_bin`` random members are kept per bin.
    """
    r = _slot_rows(acc.reservoir, f0, f1)
    order = np.lexsort((-r["score"], r["value"], r["feature"]))  # ties in value broken at random
    r = {k: v[order] for k, v in r.items()}
    rank = _rank_within(r["feature"])
    size = np.bincount(r["feature"] - f0, minlength=f1 - f0)[r["feature"] - f0]
    r["bin"] = rank * cfg.quantile_bins // np.maximum(size, 1)
    group = r["feature"] * (cfg.quantile_bins + 1) + r["bin"]
    order = np.lexsort((-r["score"], group))  # random order inside each bin
    r = {k: v[order] for k, v in r.items()}
    keep = _rank_within(r["feature"] * (cfg.quantile_bins + 1) + r["bin"]) < cfg.quantile_per_bin
    r = {k: v[keep] for k, v in r.items()}
    order = np.lexsort((-r["value"], r["bin"], r["feature"]))
    r = {k: v[order] for k, v in r.items()}
    r["rank"] = _rank_within(r["feature"] * (cfg.quantile_bins + 1) + r["bin"])
    return r


def _negative_rows(acc: LayerAccumulator, pool: NegativePool, f0: int, f1: int, cfg: FeatureConfig,
                   gen: torch.Generator) -> dict[str, np.ndarray]:
    """Per feature, ``n_negative`` random pool windows in which it never fires."""
    n_pool, width = pool.key.numel(), cfg.window
    n = min(cfg.n_negative, n_pool)
    feats = acc.pool_feats.long().cpu()
    active = torch.zeros(n_pool, f1 - f0, dtype=torch.bool)
    p_idx = torch.arange(n_pool)[:, None].expand_as(feats)
    inside = (feats >= f0) & (feats < f1)
    active[p_idx[inside], feats[inside] - f0] = True
    eligible = ~active & pool.filled().cpu()[:, None]
    keys = torch.rand(n_pool, f1 - f0, generator=gen)
    keys[~eligible] = torch.inf
    sel_keys, sel = keys.T.topk(n, dim=1, largest=False) if n else (torch.zeros(f1 - f0, 0), torch.zeros(f1 - f0, 0, dtype=torch.long))
    fi, ri = np.nonzero(np.isfinite(sel_keys.numpy()))
    slot = sel.numpy()[fi, ri]
    length = to_numpy(pool.length)[slot]
    return {"feature": fi + f0, "rank": ri, "bin": np.full(len(fi), -1), "row": to_numpy(pool.row)[slot],
            "start": to_numpy(pool.start)[slot], "length": length, "value": np.zeros(len(fi)),
            "pos": np.full(len(fi), -1), "acts": np.zeros((len(fi), width), dtype=np.float32)}


def example_batches(acc: LayerAccumulator, pool: NegativePool, corpus: Corpus, cfg: FeatureConfig,
                    vocab: np.ndarray, seed: int, chunk: int = 4096) -> Iterator[pa.RecordBatch]:
    """Examples table in feature chunks, rows ordered by feature, kind, quantile bin, rank."""
    vocab_arr = pa.array(vocab, type=pa.string())
    gen = torch.Generator().manual_seed(int(seed))
    for f0 in range(0, acc.n_features, chunk):
        f1 = min(acc.n_features, f0 + chunk)
        parts = {"top": _top_rows(acc, f0, f1), "quantile": _quantile_rows(acc, f0, f1, cfg),
                 "negative": _negative_rows(acc, pool, f0, f1, cfg, gen)}
        yield _assemble(parts, corpus, vocab_arr, cfg)


def _assemble(parts: dict[str, dict[str, np.ndarray]], corpus: Corpus, vocab: pa.Array, cfg: FeatureConfig) -> pa.RecordBatch:
    kinds = np.concatenate([np.full(len(p["feature"]), KIND_ORDER[k]) for k, p in parts.items()])
    cat = {key: np.concatenate([p[key] for p in parts.values()])
           for key in ("feature", "rank", "bin", "row", "start", "length", "value", "pos")}
    acts2d = np.concatenate([p["acts"].reshape(-1, cfg.window) for p in parts.values()]).astype(np.float32)
    order = np.lexsort((cat["rank"], cat["bin"], kinds, cat["feature"]))
    cat = {k: v[order] for k, v in cat.items()}
    kinds, acts2d = kinds[order], acts2d[order]
    length = cat["length"].astype(np.int64)
    ids, offsets = window_tokens(corpus, cat["row"], cat["start"], length)
    acts = acts2d[np.arange(acts2d.shape[1])[None, :] < length[:, None]]
    names = np.array(list(KIND_ORDER))
    max_idx = np.where(cat["pos"] >= 0, cat["pos"] - cat["start"], -1)
    return pa.RecordBatch.from_arrays([
        pa.array(cat["feature"].astype(np.int64)), pa.array(names[kinds]),
        pa.array(cat["bin"].astype(np.int32)), pa.array(cat["rank"].astype(np.int32)),
        pa.array(corpus.doc_ids[cat["row"].astype(np.int64)]), pa.array(cat["start"].astype(np.int32)),
        _lists(ids.astype(np.int32), offsets, pa.int32()),
        pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), vocab.take(pa.array(ids.astype(np.int64)))),
        _lists(acts, offsets, pa.float32()), pa.array(max_idx.astype(np.int32)),
        pa.array(cat["value"].astype(np.float64)),
    ], schema=EXAMPLES_SCHEMA)

