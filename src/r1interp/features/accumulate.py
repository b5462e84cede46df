"""Per-layer streaming statistics of transcoder activations, updated from inside a forward hook.

Why everything is sparse: a TopK transcoder has at most ``k`` active latents per token, so each
batch is reduced to ``(token, feature, value)`` triples (``N·k`` of them) before any bookkeeping;
the only dense ``[N, F]`` tensor is the encoder's pre-activation buffer, reused in place to cut
windows: the ``k`` selected entries of each row are negated (:func:`mark_selected`), so a window's
activations are ``max(-buffer, 0)`` read through a strided ``unfold`` view — no ``[N, F]`` zero
fill, no scatter, no per-element index arithmetic (cutting windows through a flat index was the
largest single cost of the bookkeeping before).

State per layer (device memory independent of the number of tokens):
counts overall and per segment, sum, max, a log-grid histogram (:mod:`.hist`), a top-N buffer
(best activation per chunk), a uniform reservoir of active occurrences (later stratified into
quantile bins) and, for the shared negative-window pool, the active features of each pool window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.features.buffers import Payload, SlotBuffer, merge_slots
from r1interp.features.config import WINDOW_DTYPES, FeatureConfig
from r1interp.features.corpus import Batch
from r1interp.features.hist import global_bin, global_edges, shift_rows

N_SEGMENTS = 4
RESERVOIR_EMPTY_KEY = 2.0  # keys are uniform in [0, 1): an empty slot loses to any real key


@dataclass
class BatchContext:
    """A batch on the device plus the index maps every layer's update shares."""

    rows: Tensor  # [B] corpus document rows
    starts: Tensor  # [B] chunk start within the document
    lengths: Tensor  # [B]
    width: int  # T
    skip: int  # counted positions are skip .. length-1
    tok: Tensor  # [N] flat (b*T + p) index of each counted token
    tok_b: Tensor
    tok_p: Tensor
    tok_seg: Tensor
    rowmap: Tensor  # [B*T] counted-token row of each flat position, -1 elsewhere
    neg_slot: Tensor | None = None  # negative-pool slots this batch fills …
    neg_b: Tensor | None = None  # … with windows of chunk neg_b …
    neg_start: Tensor | None = None  # … starting here (chunk coordinates) …
    neg_len: Tensor | None = None  # … this long

    @classmethod
    def build(cls, batch: Batch, skip: int, device: torch.device) -> "BatchContext":
        lengths = torch.as_tensor(batch.lengths, device=device)
        n_seq, width = batch.input_ids.shape
        pos = torch.arange(width, device=device)
        valid = (pos[None, :] < lengths[:, None]) & (pos[None, :] >= skip)
        tok = valid.flatten().nonzero(as_tuple=True)[0]
        rowmap = torch.full((n_seq * width,), -1, dtype=torch.long, device=device)
        rowmap[tok] = torch.arange(tok.numel(), device=device)
        seg = torch.as_tensor(batch.segment, device=device).flatten()
        return cls(torch.as_tensor(batch.rows, device=device), torch.as_tensor(batch.starts, device=device),
                   lengths, width, skip, tok, tok // width, tok % width, seg[tok], rowmap)

    @property
    def n_seq(self) -> int:
        return self.lengths.numel()

    def window(self, b: Tensor, p: Tensor, before: int, after: int) -> tuple[Tensor, Tensor]:
        """Window ``(start, length)`` around anchor ``p`` of chunk ``b``, kept to counted tokens."""
        start = torch.clamp(p - before, min=self.skip)
        stop = torch.minimum(p + after + 1, self.lengths[b])
        return start, stop - start

    def window_rows(self, b: Tensor, start: Tensor, length: Tensor, width: int) -> Tensor:
        """``[M, W]`` counted-token rows of each window (-1 past its length)."""
        w = torch.arange(width, device=b.device)
        rows = self.first_row(b, start)[:, None] + w[None, :]
        return torch.where(w[None, :] < length[:, None], rows, -1)

    def first_row(self, b: Tensor, start: Tensor) -> Tensor:
        """Counted-token row of each window's first token; a window's rows are consecutive because
        it lies inside one chunk's counted positions."""
        return self.rowmap[b * self.width + start]


_WORKSPACE: dict[tuple, Tensor] = {}


def workspace(rows: int, cols: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """A ``[rows, cols]`` scratch buffer shared by every layer (their updates run one after another).

    Why: a fresh ``[N, F]`` allocation per layer and batch is page-faulted (and zeroed by the OS)
    each time on CPU; one buffer, grown when needed, is not. Contents are undefined.
    """
    key = (cols, dtype, str(device))
    buf = _WORKSPACE.get(key)
    if buf is None or buf.shape[0] < rows:
        _WORKSPACE.clear()  # one live buffer at most
        buf = _WORKSPACE[key] = torch.empty(rows, cols, dtype=dtype, device=device)
    return buf[:rows]


def release_workspace() -> None:
    """Free the scratch buffer (end of a pass)."""
    _WORKSPACE.clear()


def mark_selected(pre: Tensor, idx: Tensor, vals: Tensor) -> None:
    """In place: negate the TopK-selected entries of the (non-negative) pre-activations.

    Afterwards ``max(-pre, 0)`` is exactly ``SkipTranscoder.encode``'s output: selected entries
    give their value, every other entry (``>= 0``) gives 0 — an ``[N, k]`` scatter instead of
    zeroing and refilling ``[N, F]``.
    """
    pre.scatter_(-1, idx, vals.neg())


def active_entries(idx: Tensor, vals: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(token, feature, value)`` of the TopK entries that fired (value > 0), in row-major order.

    Usually every selected entry is positive (a token has at least ``k`` positive pre-activations);
    then the triples are plain reshapes, skipping two boolean-mask gathers and a ``nonzero`` over
    ``[N, k]`` (~3% of a toy collection pass).
    """
    active = vals > 0
    if bool(active.all()):
        n, k = vals.shape
        return torch.arange(n, device=vals.device).repeat_interleave(k), idx.reshape(-1), vals.reshape(-1).float()
    return active.nonzero(as_tuple=True)[0], idx[active], vals[active].float()


def window_acts(marked: Tensor, rows0: Tensor, feats: Tensor, length: Tensor, width: int) -> Tensor:
    """``[M, W]`` activations of feature ``feats[m]`` on counted rows ``rows0[m] ..`` (0 past ``length``).

    ``marked`` is ``[N + width, F]``: the marked pre-activations (:func:`mark_selected`) with
    ``width`` zero rows below, so every window start ``< N`` has a full view.
    """
    acts = marked.unfold(0, width, 1)[rows0, feats].neg_().clamp_(min=0)
    return acts.masked_fill_(torch.arange(width, device=acts.device)[None, :] >= length[:, None], 0.0)


class NegativePool:
    """A uniform reservoir of candidate windows (one proposal per chunk) shared by all layers.

    Each layer records which of its features fire anywhere in each pool window; at the end each
    feature draws its negatives among the pool windows where it never fires.
    """

    def __init__(self, size: int, window: int, device: torch.device, generator: torch.Generator):
        self.key = torch.full((size,), RESERVOIR_EMPTY_KEY, device=device)
        self.row = torch.full((size,), -1, dtype=torch.long, device=device)
        self.start = torch.zeros(size, dtype=torch.long, device=device)  # document coordinates
        self.length = torch.zeros(size, dtype=torch.long, device=device)
        self.window = window
        self.gen = generator

    def propose(self, ctx: BatchContext) -> None:
        """Draw one random window per chunk and decide which pool slots they replace."""
        dev = self.key.device
        n_counted = ctx.lengths - ctx.skip
        length = torch.clamp(n_counted, max=self.window)
        room = (n_counted - length + 1).clamp(min=1)
        start = ctx.skip + (torch.rand(ctx.n_seq, generator=self.gen, device=dev) * room).long().clamp(max=room - 1)
        key = torch.rand(ctx.n_seq, generator=self.gen, device=dev)
        key = torch.where(n_counted > 0, key, torch.inf)
        _, slot, col = merge_slots(-self.key[None, :], -key[None, :])
        self.key[slot] = key[col]
        self.row[slot] = ctx.rows[col]
        self.start[slot] = ctx.starts[col] + start[col]
        self.length[slot] = length[col]
        ctx.neg_slot, ctx.neg_b, ctx.neg_start, ctx.neg_len = slot, col, start[col], length[col]

    def filled(self) -> Tensor:
        return self.key < RESERVOIR_EMPTY_KEY


class LayerAccumulator:
    """All streaming statistics of one layer's transcoder (see module docstring)."""

    def __init__(self, transcoder: SkipTranscoder, cfg: FeatureConfig, pool: NegativePool, generator: torch.Generator):
        self.tc = transcoder
        self.cfg = cfg
        self.pool = pool
        self.gen = generator
        dev = transcoder.W_enc.device
        f, wdt = transcoder.num_latents, WINDOW_DTYPES[cfg.window_dtype]
        self.n_features = f
        self.count = torch.zeros(f, dtype=torch.long, device=dev)
        self.seg_count = torch.zeros(N_SEGMENTS, f, dtype=torch.long, device=dev)
        self.sum = torch.zeros(f, dtype=torch.float64, device=dev)
        self.max = torch.zeros(f, dtype=torch.float32, device=dev)
        self.edges = global_edges(cfg.hist_bins_per_octave, dev)
        self.hist = torch.zeros(f, cfg.hist_bins, dtype=torch.long, device=dev)
        self.hist_top = torch.full((f,), -1, dtype=torch.long, device=dev)
        self.top = SlotBuffer(f, cfg.top_n, cfg.window, 0.0, wdt, dev)
        self.reservoir = SlotBuffer(f, cfg.reservoir_size, cfg.window, -RESERVOIR_EMPTY_KEY, wdt, dev)
        self.pool_feats = torch.full((pool.key.numel(), cfg.window * transcoder.k), -1, dtype=torch.int32, device=dev)

    def nbytes(self) -> int:
        """Device bytes of the state (constant over the pass)."""
        tensors = (self.count, self.seg_count, self.sum, self.max, self.hist, self.hist_top, self.pool_feats)
        return sum(t.numel() * t.element_size() for t in tensors) + self.top.nbytes() + self.reservoir.nbytes()

    @torch.no_grad()
    def update(self, x: Tensor, ctx: BatchContext) -> None:
        """Fold one batch in; ``x`` is ``[N, d]``, the MLP input at the counted tokens."""
        tc = self.tc
        n, width = x.shape[0], self.cfg.window
        buf = workspace(n + width, tc.num_latents, tc.W_enc.dtype, x.device)
        buf[n:].zero_()
        pre = torch.matmul(x.to(tc.W_enc.dtype), tc.W_enc.T, out=buf[:n]).add_(tc.b_enc).relu_()  # == tc.pre_acts(x)
        vals, idx = pre.topk(min(tc.k, pre.shape[-1]), dim=-1, sorted=False)  # == SkipTranscoder.encode(x)
        e_t, e_f, e_v = active_entries(idx, vals)
        mark_selected(pre, idx, vals)
        self._counters(e_t, e_f, e_v, ctx)
        self._histogram(e_f, e_v)
        self._top(e_t, e_f, e_v, ctx, buf)
        self._reservoir(e_t, e_f, e_v, ctx, buf)
        if ctx.neg_slot is not None and ctx.neg_slot.numel():
            self._pool(idx, vals, ctx)

    def _counters(self, e_t: Tensor, e_f: Tensor, e_v: Tensor, ctx: BatchContext) -> None:
        f = self.n_features
        seg = torch.bincount(ctx.tok_seg[e_t] * f + e_f, minlength=N_SEGMENTS * f).view(N_SEGMENTS, f)
        self.seg_count += seg
        self.count += seg.sum(0)
        self.sum.index_add_(0, e_f, e_v.double())
        self.max.scatter_reduce_(0, e_f, e_v, "amax")

    def _histogram(self, e_f: Tensor, e_v: Tensor) -> None:
        n_slots = self.hist.shape[1]
        g = global_bin(e_v, self.edges, self.cfg.hist_bins_per_octave)
        batch_top = torch.full_like(self.hist_top, -1).scatter_reduce_(0, e_f, g, "amax")
        new_top = torch.maximum(self.hist_top, batch_top)
        moved = ((new_top > self.hist_top) & (self.hist_top >= 0)).nonzero(as_tuple=True)[0]
        shift_rows(self.hist, moved, new_top[moved] - self.hist_top[moved])
        self.hist_top = new_top
        slot = (g - new_top[e_f] + n_slots - 1).clamp_(min=0)
        self.hist.view(-1).index_add_(0, e_f * n_slots + slot, torch.ones_like(slot))

    def _payload(self, ctx: BatchContext, marked: Tensor, b: Tensor, p: Tensor, f: Tensor, v: Tensor) -> Payload:
        cfg = self.cfg
        start, length = ctx.window(b, p, cfg.context_before, cfg.context_after)
        acts = window_acts(marked, ctx.first_row(b, start), f, length, cfg.window)
        base = ctx.starts[b]
        return Payload(v, ctx.rows[b], (base + p).int(), (base + start).int(), length.int(), acts)

    def _top(self, e_t: Tensor, e_f: Tensor, e_v: Tensor, ctx: BatchContext, marked: Tensor) -> None:
        """Offer each chunk's best token per feature (one top example per chunk at most).

        Only entries above their feature's current worst top slot can win one, so the per-chunk
        maxima are taken over those alone (after the first batches, a small fraction).
        """
        f = self.n_features
        sel = (e_v > self.top.score.min(dim=1).values[e_f]).nonzero(as_tuple=True)[0]
        if sel.numel() == 0:
            return
        e_t, e_f, e_v = e_t[sel], e_f[sel], e_v[sel]
        key = ctx.tok_b[e_t] * f + e_f
        best = torch.zeros(ctx.n_seq * f, device=e_v.device).scatter_reduce_(0, key, e_v, "amax")
        at_best = e_v == best[key]
        anchor = torch.full_like(best, ctx.width, dtype=torch.long)
        anchor.scatter_reduce_(0, key[at_best], ctx.tok_p[e_t[at_best]], "amin")
        cand = best.nonzero(as_tuple=True)[0]
        c_b, c_f, c_v = cand // f, cand % f, best[cand]
        self.top.offer(c_f, c_v, lambda i: self._payload(ctx, marked, c_b[i], anchor[cand[i]], c_f[i], c_v[i]))

    def _reservoir(self, e_t: Tensor, e_f: Tensor, e_v: Tensor, ctx: BatchContext, marked: Tensor) -> None:
        """Bottom-k of uniform keys = a uniform sample without replacement of active occurrences."""
        key = torch.rand(e_f.numel(), generator=self.gen, device=e_f.device)
        self.reservoir.offer(e_f, -key, lambda i: self._payload(ctx, marked, ctx.tok_b[e_t[i]], ctx.tok_p[e_t[i]], e_f[i], e_v[i]))

    def _pool(self, idx: Tensor, vals: Tensor, ctx: BatchContext) -> None:
        rows = ctx.window_rows(ctx.neg_b, ctx.neg_start, ctx.neg_len, self.cfg.window)  # [M, W]
        ok = rows >= 0
        r = rows.clamp(min=0)
        feats = torch.where(ok[:, :, None] & (vals[r] > 0), idx[r], -1)  # [M, W, k]
        self.pool_feats[ctx.neg_slot] = feats.reshape(rows.shape[0], -1).to(torch.int32)


def to_numpy(t: Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
