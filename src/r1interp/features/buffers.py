"""Fixed-size per-feature example buffers with a vectorised "keep the best S" merge.

Why one structure for two jobs: top-N examples keep the S largest activations, and a uniform
reservoir keeps the S smallest uniform random keys (score = -key) — the same merge with a different
score. Every batch offers a ragged list of ``(feature, score)`` candidates; only candidates that beat
their feature's current worst slot are looked at, they are packed densely per feature, and one
``topk`` over ``[slots | candidates]`` decides which slots are evicted and which candidates take
them. Memory is ``features × slots`` and never depends on how many tokens have been seen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Payload:
    """What an accepted candidate stores (one entry per accepted candidate)."""

    value: Tensor  # float32 activation of the anchor token
    row: Tensor  # int64 corpus document row
    pos: Tensor  # int32 anchor position in the document
    start: Tensor  # int32 window start in the document
    length: Tensor  # int32 window length
    acts: Tensor  # [M, W] this feature's activation on each window token


def pack_candidates(feat: Tensor, score: Tensor, cap: int) -> tuple[Tensor, Tensor, Tensor]:
    """Per feature, its ``cap`` best candidates as dense rows.

    Returns ``(rows [R], score [R, cap], entry [R, cap])``: the features that have candidates,
    their candidate scores best-first (``-inf`` padding) and each candidate's index into the
    input lists (-1 padding).
    """
    order = torch.argsort(score, descending=True)
    order = order[torch.argsort(feat[order], stable=True)]
    f_sorted = feat[order]
    rows, inverse, counts = torch.unique_consecutive(f_sorted, return_inverse=True, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(f_sorted.numel(), device=feat.device) - starts[inverse]
    keep = rank < cap
    width = int(min(cap, int(counts.max()))) if counts.numel() else 0
    dense_score = torch.full((rows.numel(), width), float("-inf"), device=feat.device)
    entry = torch.full((rows.numel(), width), -1, dtype=torch.long, device=feat.device)
    dense_score[inverse[keep], rank[keep]] = score[order][keep]
    entry[inverse[keep], rank[keep]] = order[keep]
    return rows, dense_score, entry


def merge_slots(slot_score: Tensor, cand_score: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Keep the best ``S`` of ``[slots | candidates]`` per row.

    Returns ``(row, slot, cand)``: row ``row[i]`` evicts slot ``slot[i]`` for candidate column
    ``cand[i]``. Candidate padding must score below every slot (``-inf``), so it is never kept.
    """
    n_slots = slot_score.shape[1]
    both = torch.cat([slot_score, cand_score], dim=1)
    keep = both.topk(n_slots, dim=1).indices
    kept = torch.zeros_like(both, dtype=torch.bool).scatter_(1, keep, True)
    # Per row, #evicted slots == #kept candidates, and nonzero() is row-major, so they pair up.
    ev_row, ev_slot = (~kept[:, :n_slots]).nonzero(as_tuple=True)
    _, ac_col = kept[:, n_slots:].nonzero(as_tuple=True)
    return ev_row, ev_slot, ac_col


class SlotBuffer:
    """``S`` example slots for each of ``F`` features (see module docstring)."""

    def __init__(self, n_features: int, n_slots: int, window: int, empty_score: float,
                 window_dtype: torch.dtype, device: torch.device):
        f, s = n_features, n_slots
        self.empty_score = float(empty_score)
        self.score = torch.full((f, s), self.empty_score, dtype=torch.float32, device=device)
        self.value = torch.zeros((f, s), dtype=torch.float32, device=device)
        self.row = torch.full((f, s), -1, dtype=torch.long, device=device)
        self.pos = torch.zeros((f, s), dtype=torch.int32, device=device)
        self.start = torch.zeros((f, s), dtype=torch.int32, device=device)
        self.length = torch.zeros((f, s), dtype=torch.int32, device=device)
        self.acts = torch.zeros((f, s, window), dtype=window_dtype, device=device)

    @property
    def n_slots(self) -> int:
        return self.score.shape[1]

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in
                   (self.score, self.value, self.row, self.pos, self.start, self.length, self.acts))

    def offer(self, feat: Tensor, score: Tensor, payload: Callable[[Tensor], Payload]) -> int:
        """Offer candidates ``(feat[i], score[i])``; ``payload(idx)`` builds the accepted ones.

        Returns the number of slots that changed.
        """
        worst = self.score.min(dim=1).values
        ok = score > worst[feat]
        if not bool(ok.any()):
            return 0
        idx = ok.nonzero(as_tuple=True)[0]
        rows, cand_score, entry = pack_candidates(feat[idx], score[idx], self.n_slots)
        ev_row, ev_slot, ac_col = merge_slots(self.score[rows], cand_score)
        if ev_row.numel() == 0:
            return 0
        f = rows[ev_row]
        chosen = idx[entry[ev_row, ac_col]]
        p = payload(chosen)
        self.score[f, ev_slot] = score[chosen]
        self.value[f, ev_slot] = p.value
        self.row[f, ev_slot] = p.row
        self.pos[f, ev_slot] = p.pos
        self.start[f, ev_slot] = p.start
        self.length[f, ev_slot] = p.length
        self.acts[f, ev_slot] = p.acts.to(self.acts.dtype)
        return int(f.numel())

    def filled(self) -> Tensor:
        """``[F, S]`` mask of slots that hold an example."""
        return self.row >= 0
