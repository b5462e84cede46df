"""Reasoning-focus score of attention heads (pure functions on tensors).

The score of a head on one trace is the attention mass that answer tokens (segment 3) put on
reasoning tokens (segment 2, ``<think>``/``</think>`` markers included), averaged over the answer
tokens; a head's score is that, averaged over traces. Heads that read the trace while the answer
is being written score high. Because reasoning is usually most of the context, each score comes
with the baseline a head that attends uniformly over its causal context would get, and the
lift = score / baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from r1interp.artifacts.segments import ANSWER, THINK


def answer_to_reasoning_attention(
    attn: Tensor, segment: Tensor | np.ndarray, query_code: int = ANSWER, key_code: int = THINK
) -> Tensor:
    """Mean over answer queries of the attention mass on reasoning keys.

    ``attn`` is ``[..., heads, T, T]`` (rows are queries, each row sums to 1 over keys);
    ``segment`` is ``[T]``. Returns ``[..., heads]`` in float32. Raises if the trace has no
    answer or no reasoning tokens (the caller decides whether to skip).
    """
    seg = torch.as_tensor(np.asarray(segment), device=attn.device)
    if attn.shape[-1] != seg.shape[0] or attn.shape[-2] != seg.shape[0]:
        raise ValueError(f"attention is {tuple(attn.shape)} but segment has {seg.shape[0]} tokens")
    q_idx = (seg == query_code).nonzero().flatten()
    k_idx = (seg == key_code).nonzero().flatten()
    if q_idx.numel() == 0 or k_idx.numel() == 0:
        raise ValueError(f"trace has {q_idx.numel()} answer and {k_idx.numel()} reasoning tokens; need both")
    rows = attn.index_select(-2, q_idx).index_select(-1, k_idx).float()  # [..., H, nq, nk]
    return rows.sum(-1).mean(-1)


def uniform_baseline(segment: np.ndarray, query_code: int = ANSWER, key_code: int = THINK) -> float:
    """The score a head attending uniformly over its causal context (keys 0..q) would get."""
    seg = np.asarray(segment)
    is_key = np.cumsum(seg == key_code)  # number of reasoning keys at or before each position
    q = np.flatnonzero(seg == query_code)
    if len(q) == 0:
        raise ValueError("trace has no answer tokens")
    return float(np.mean(is_key[q] / (q + 1)))


def rank_heads(scores: list[Tensor], baselines: list[float]) -> pd.DataFrame:
    """Average per-trace ``[layers, heads]`` scores and rank heads (rank 1 = most answer→reasoning).

    Columns: layer, head, score (mean over traces), score_std, baseline (mean uniform baseline),
    lift (score / baseline), rank, n_traces.
    """
    columns = ["layer", "head", "score", "score_std", "baseline", "lift", "rank", "n_traces"]
    if not scores:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("layer", "head", "rank", "n_traces") else "float64") for c in columns})
    stack = torch.stack([s.float().cpu() for s in scores]).numpy().astype(np.float64)  # [n, L, H]
    n, n_layers, n_heads = stack.shape
    mean = stack.mean(0)
    std = stack.std(0, ddof=1) if n > 1 else np.zeros_like(mean)
    base = float(np.mean(baselines))
    layer, head = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    df = pd.DataFrame(
        {
            "layer": layer.ravel().astype("int64"),
            "head": head.ravel().astype("int64"),
            "score": mean.ravel(),
            "score_std": std.ravel(),
            "baseline": base,
            "lift": mean.ravel() / base if base > 0 else np.nan,
        }
    )
    df = df.sort_values(["score", "layer", "head"], ascending=[False, True, True], kind="stable").reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1, dtype="int64")
    df["n_traces"] = np.int64(n)
    return df[columns]
