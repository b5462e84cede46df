"""Streaming per-feature histograms on a log grid that follows each feature's running maximum.

Why this design: a feature's activation scale is unknown until the pass ends, and a second pass
costs a full model forward. Bins are aligned to one global log2 grid (``bpo`` bins per octave), so
a feature's ``B`` slots are simply the ``B`` global bins ending at the bin of its running maximum;
when the maximum grows, the slots shift up and what falls off the bottom joins slot 0 (the
underflow). Counts are therefore exact for the grid, memory is ``B`` integers per feature, and
quantiles come from the histogram with one bin's relative error (``2**(1/bpo) - 1``) at most.

Slot ``j`` of a feature whose top global bin is ``T`` is global bin ``g = T - (B-1) + j`` and holds
``edge(g) <= a < edge(g+1)``; slot 0 holds everything ``< edge(T - B + 2)``. The reported edges are
``[0, edge(T-B+2), ..., edge(T+1)]`` (``B + 1`` values), so ``np.histogram(acts, edges)`` reproduces
the counts.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

OCTAVES_BELOW_ONE = 40  # the global grid spans 2**-40 .. 2**40
OCTAVES_ABOVE_ONE = 40


def global_edges(bpo: int, device: torch.device | str = "cpu") -> Tensor:
    """Edges of the global grid as float32: ``edge(g) = 2**(g/bpo - 40)``."""
    g = np.arange(0, (OCTAVES_BELOW_ONE + OCTAVES_ABOVE_ONE) * bpo + 1, dtype=np.float64)
    return torch.from_numpy(edge_values(g, bpo)).to(device)


def edge_values(g: np.ndarray, bpo: int) -> np.ndarray:
    """``edge(g)`` for any (possibly negative) global index, rounded to float32 like the grid."""
    return np.exp2(np.asarray(g, dtype=np.float64) / bpo - OCTAVES_BELOW_ONE).astype(np.float32)


def global_bin(values: Tensor, edges: Tensor, bpo: int) -> Tensor:
    """Global bin of each positive float32 value, by exact comparison with the float32 edges.

    A log2 estimate, lowered by a margin far above float32's error and far below one bin, is the
    right bin or the one below it; one comparison with the grid's own edge fixes it, so the result
    equals a binary search of the edges (``torch.bucketize(v, edges, right=True) - 1``, clamped to
    the grid) at a fraction of its cost.
    """
    v = values.float()
    last = edges.numel() - 2
    g = torch.log2(v).add_(OCTAVES_BELOW_ONE).mul_(bpo).sub_(1e-3).floor_().clamp_(-1, last).long()
    g += (v >= edges[g + 1]).long()  # the estimate was one too low
    return g.clamp_(0, last)


def shift_rows(hist: Tensor, rows: Tensor, shift: Tensor) -> None:
    """In place: move the slots of ``rows`` up by ``shift`` (>= 1); the bottom folds into slot 0."""
    if rows.numel() == 0:
        return
    old = hist[rows]
    n_slots = old.shape[1]
    src = torch.arange(n_slots, device=hist.device)[None, :] + shift[:, None]
    new = old.gather(1, src.clamp(max=n_slots - 1)) * (src < n_slots)
    new[:, 0] = old.cumsum(1).gather(1, shift.clamp(max=n_slots - 1)[:, None]).squeeze(1)
    hist[rows] = new


def feature_edges(top: np.ndarray, n_slots: int, bpo: int) -> np.ndarray:
    """``[F, B+1]`` reported edges for features with top global bins ``top`` (-1: dead, all 0)."""
    top = np.asarray(top, dtype=np.int64)
    g = top[:, None] - (n_slots - 1) + np.arange(1, n_slots + 1)[None, :]
    edges = np.concatenate([np.zeros((len(top), 1), np.float32), edge_values(g, bpo)], axis=1)
    edges[top < 0] = 0.0
    return edges
