"""Fixed-size per-feature example buffers with a vectorised "keep the best S" merge.

Why one structure for two jobs: top-N examples keep the S largest activations, and a uniform
reservoir keeps the S smallest uniform random keys (score = -key) — the same merge with a different
score. Every batch offers a ragged list of ``(feature, score)`` candidates; only candidates that beat
their feature's current worst slot are looked at. One sort of a 64-bit ``(feature, score)`` key
ranks them within their feature; the candidate of rank ``j`` takes the ``j``-th worst slot when it
beats it (merging a descending and an ascending list), so no per-feature loop and no padded
``[features × (slots + candidates)]`` table is needed. Ties are deterministic: a slot keeps its
example against an equal candidate, and among equal candidates the earlier offered wins. Memory is
``features × slots`` and never depends on how many tokens have been seen.
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


def descending_key(feat: Tensor, score: Tensor) -> Tensor:
    """int64 keys that sort by feature ascending, then float32 score descending (exactly).

    The float's bits are made order-preserving as a signed int32 (negative floats have their
    magnitude bits flipped), then reversed into ``[0, 2**32)`` below the feature; ``key >> 32`` is
    the feature again.
    """
    bits = score.float().contiguous().view(torch.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # same order as the floats
    return (feat.long() << 32).add_(0x7FFFFFFF - ordered.long())


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
        n_feat, n_slots = self.score.shape
        worst = self.score.min(dim=1).values
        idx = (score > worst[feat]).nonzero(as_tuple=True)[0]
        if idx.numel() == 0:
            return 0
        key, order = torch.sort(descending_key(feat[idx], score[idx]), stable=True)
        f = key >> 32
        counts = torch.bincount(f, minlength=n_feat)
        rank = torch.arange(f.numel(), device=f.device) - (torch.cumsum(counts, 0) - counts)[f]
        keep = (rank < n_slots).nonzero(as_tuple=True)[0]
        idx, f, rank = idx[order[keep]], f[keep], rank[keep]
        # The j-th best candidate of a feature replaces its j-th worst slot iff it beats it; the
        # condition holds for a prefix of j (candidates descend, slots ascend).
        rows = (counts > 0).nonzero(as_tuple=True)[0]
        slot_score, slot_idx = self.score[rows].sort(dim=1, stable=True)
        row_of = torch.empty(n_feat, dtype=torch.long, device=f.device)
        row_of[rows] = torch.arange(rows.numel(), device=f.device)
        at = row_of[f] * n_slots + rank
        take = (score[idx] > slot_score.view(-1)[at]).nonzero(as_tuple=True)[0]
        if take.numel() == 0:
            return 0
        chosen = idx[take]
        flat = f[take] * n_slots + slot_idx.view(-1)[at[take]]
        p = payload(chosen)
        self.score.view(-1)[flat] = score[chosen]
        self.value.view(-1)[flat] = p.value
        self.row.view(-1)[flat] = p.row
        self.pos.view(-1)[flat] = p.pos
        self.start.view(-1)[flat] = p.start
        self.length.view(-1)[flat] = p.length
        self.acts.view(-1, self.acts.shape[-1])[flat] = p.acts.to(self.acts.dtype)
        return int(flat.numel())

    def filled(self) -> Tensor:
        """``[F, S]`` mask of slots that hold an example."""
        return self.row >= 0
