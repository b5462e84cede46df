"""Signed, layer-aware motifs: FFL sign types, chains, cross-chain inhibition.

Only *forward* edges whose layer gap ``g = layer(target) − layer(source)`` lies in
``[min_gap, max_gap]`` take part (circuit-motifs' unrolled-motif rule; ``max_gap=None`` means no
upper limit — circuit-motifs hard-codes 5, which means different things in a 6- and a 28-layer
model). On that subgraph every triangle is a feed-forward loop X→Y→Z, X→Z with roles read from
its own edges (X source, Y mediator, Z target).

FFL sign types (Mangan & Alon 2003), as signs of (X→Y, Y→Z, X→Z)::

    coherent   (sign X→Z = sign X→Y · sign Y→Z)      incoherent
    C1 (+,+,+)   C2 (−,+,−)   C3 (+,−,−)   C4 (−,−,+)      I1 (+,−,+)   I2 (−,−,−)   I3 (+,+,−)   I4 (−,+,+)

circuit-motifs calls only C1 "coherent" and only I3 "incoherent" (its strict templates); both
are reported as ``cm_coherent_ffl`` / ``cm_incoherent_ffl`` for comparability, next to the
Alon totals ``coherent_ffl`` / ``incoherent_ffl``.

Chains (not induced, as in circuit-motifs): ``amplification_chain`` A→B (+), B→C (+);
``damping_chain`` A→B (+), B→C (−). ``cross_chain_inhibition``: four distinct nodes with
A→A' (+), B→B' (+), A→B' (−), B→A' (−), counted once per unordered chain pair {A, B}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from r1interp.motifs.census import DEFAULT_BITMAP_BYTES, ZeroBuffer, match_pairs
from r1interp.motifs.edges import EdgeSet

# Pattern index p = 4·[X→Y inhibitory] + 2·[Y→Z inhibitory] + [X→Z inhibitory].
FFL_TYPE_OF_PATTERN = {0: "C1", 5: "C2", 3: "C3", 6: "C4", 2: "I1", 7: "I2", 1: "I3", 4: "I4"}
FFL_TYPES = ("C1", "C2", "C3", "C4", "I1", "I2", "I3", "I4")
PATTERN_OF_TYPE = {t: p for p, t in FFL_TYPE_OF_PATTERN.items()}
SIGNED_MOTIFS: tuple[str, ...] = tuple(f"ffl_{t}" for t in FFL_TYPES) + ("amplification_chain", "damping_chain", "cross_chain_inhibition")
AGGREGATES: tuple[str, ...] = ("coherent_ffl", "incoherent_ffl", "cm_coherent_ffl", "cm_incoherent_ffl")
ALL_SIGNED: tuple[str, ...] = SIGNED_MOTIFS + AGGREGATES

_BUFFER = ZeroBuffer(np.uint8)


def is_coherent(pattern: int) -> bool:
    """Alon's rule on a pattern index: the direct edge's sign is the product of the path's signs."""
    return bool(pattern & 1) == (bool(pattern & 4) ^ bool(pattern & 2))


def sign_string(pattern: int) -> str:
    """``"+-+"``-style signs of (X→Y, Y→Z, X→Z)."""
    return "".join("-" if pattern & bit else "+" for bit in (4, 2, 1))


@dataclass(frozen=True)
class GapLimits:
    """Allowed layer gaps of motif edges (``max_gap=None``: no upper limit)."""

    min_gap: int = 1
    max_gap: int | None = None

    def __post_init__(self) -> None:
        if self.min_gap < 1:
            raise ValueError(f"min_layer_gap must be >= 1 (edges must run forward), got {self.min_gap}")
        if self.max_gap is not None and self.max_gap < self.min_gap:
            raise ValueError(f"max_layer_gap ({self.max_gap}) < min_layer_gap ({self.min_gap})")

    def mask(self, gap: np.ndarray) -> np.ndarray:
        keep = gap >= self.min_gap
        return keep if self.max_gap is None else keep & (gap <= self.max_gap)


def signed_counts_batch(sample, src, dst, neg, layer: np.ndarray, n: int, n_samples: int, gaps: GapLimits = GapLimits(), bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> np.ndarray:
    """``[n_samples, len(SIGNED_MOTIFS)]`` counts for graphs given as one flat edge list."""
    S = int(n_samples)
    sample, src, dst = (np.asarray(a, dtype=np.int64).ravel() for a in (sample, src, dst))
    neg = np.asarray(neg, dtype=bool).ravel()
    keep = gaps.mask(layer[dst] - layer[src])
    sample, src, dst, neg = sample[keep], src[keep], dst[keep], neg[keep]
    out = np.zeros((S, len(SIGNED_MOTIFS)), dtype=np.int64)
    if src.size == 0:
        return out
    N = S * n
    gu, gv = sample * n + src, sample * n + dst
    exc = ~neg
    exc_in = np.bincount(gv[exc], minlength=N).reshape(S, n)
    exc_out = np.bincount(gu[exc], minlength=N).reshape(S, n)
    inh_out = np.bincount(gu[neg], minlength=N).reshape(S, n)
    col = {m: i for i, m in enumerate(SIGNED_MOTIFS)}
    out[:, col["amplification_chain"]] = (exc_in * exc_out).sum(1)
    out[:, col["damping_chain"]] = (exc_in * inh_out).sum(1)
    out[:, : len(FFL_TYPES)] = _ffl_patterns(sample, src, dst, neg, gu, gv, n, S, bitmap_bytes)
    out[:, col["cross_chain_inhibition"]] = _cross_chain(sample, src, gv, neg, n, S)
    return out


def _ffl_patterns(sample, src, dst, neg, gu, gv, n, S, bitmap_bytes) -> np.ndarray:
    """Per sample, FFL counts in FFL_TYPES order (every triangle of a forward graph is an FFL)."""
    nn = n * n
    key = sample * nn + src * n + dst
    code = (neg + 1).astype(np.uint8)  # 1 excitatory, 2 inhibitory
    dense = S * nn <= bitmap_bytes
    if dense:
        table = _BUFFER.take(S * nn)
        table[key] = code
    else:
        order = np.argsort(key)
        skeys, scode = key[order], code[order]
    tally = np.zeros(S * 8, dtype=np.int64)
    try:
        for e1, e2 in match_pairs(gv, gu, S * n):
            q = sample[e1] * nn + src[e1] * n + dst[e2]
            if dense:
                c = table[q]
            else:
                pos = np.minimum(np.searchsorted(skeys, q), skeys.size - 1)
                c = np.where(skeys[pos] == q, scode[pos], 0)
            hit = np.flatnonzero(c)
            pattern = neg[e1[hit]] * 4 + neg[e2[hit]] * 2 + (c[hit].astype(np.int64) - 1)
            tally += np.bincount(sample[e1[hit]] * 8 + pattern, minlength=S * 8)
    finally:
        if dense:
            _BUFFER.release(table, key)
    by_pattern = tally.reshape(S, 8)
    return np.stack([by_pattern[:, PATTERN_OF_TYPE[t]] for t in FFL_TYPES], axis=1)


def _cross_chain(sample, src, gv, neg, n, S) -> np.ndarray:
    """Σ over unordered source pairs {a, b} of C[a,b]·C[b,a], C[a,b] = #{v: a→v (+), b→v (−)}."""
    exc, inh = np.flatnonzero(~neg), np.flatnonzero(neg)
    if exc.size == 0 or inh.size == 0:
        return np.zeros(S, np.int64)
    nn = n * n
    keys = []
    for ia, ib in match_pairs(gv[exc], gv[inh], S * n):
        a, b = exc[ia], inh[ib]
        keys.append(sample[a] * nn + src[a] * n + src[b])
    if not keys:
        return np.zeros(S, np.int64)
    uniq, count = np.unique(np.concatenate(keys), return_counts=True)
    s, rest = np.divmod(uniq, nn)
    a, b = np.divmod(rest, n)
    rev = s * nn + b * n + a
    pos = np.minimum(np.searchsorted(uniq, rev), uniq.size - 1)
    back = np.where(uniq[pos] == rev, count[pos], 0)
    first = a < b
    return np.bincount(s[first], weights=(count * back)[first], minlength=S).astype(np.int64)


def signed_counts(edges: EdgeSet, gaps: GapLimits = GapLimits()) -> np.ndarray:
    """Counts of SIGNED_MOTIFS in one graph."""
    return signed_counts_batch(np.zeros(edges.m, np.int64), edges.src, edges.dst, edges.neg, edges.layer, edges.n, 1, gaps)[0]


def with_aggregates(counts: np.ndarray) -> np.ndarray:
    """Append AGGREGATES columns (Alon totals and circuit-motifs' strict templates) to ``[..., SIGNED_MOTIFS]``."""
    counts = np.asarray(counts)
    idx = {m: i for i, m in enumerate(SIGNED_MOTIFS)}
    coherent = sum(counts[..., idx[f"ffl_{t}"]] for t in ("C1", "C2", "C3", "C4"))
    incoherent = sum(counts[..., idx[f"ffl_{t}"]] for t in ("I1", "I2", "I3", "I4"))
    extra = np.stack([coherent, incoherent, counts[..., idx["ffl_C1"]], counts[..., idx["ffl_I3"]]], axis=-1)
    return np.concatenate([counts, extra], axis=-1)
