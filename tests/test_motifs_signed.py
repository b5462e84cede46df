"""Signed motifs: Alon's 8 FFL types, circuit-motifs' strict templates, chains, cross-chain, gaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.nulls import NullModel
from r1interp.motifs.signed import (
    AGGREGATES,
    FFL_TYPE_OF_PATTERN,
    SIGNED_MOTIFS,
    GapLimits,
    is_coherent,
    signed_counts,
    signed_counts_batch,
    with_aggregates,
)

IDX = {m: i for i, m in enumerate(SIGNED_MOTIFS + AGGREGATES)}


def test_alon_classification_of_all_8_patterns():
    # sign(X->Z) == sign(X->Y) * sign(Y->Z)  <=>  coherent
    for p in range(8):
        xy, yz, xz = (-1 if p & b else 1 for b in (4, 2, 1))
        assert is_coherent(p) == (xz == xy * yz)
        assert FFL_TYPE_OF_PATTERN[p].startswith("C" if is_coherent(p) else "I")
    assert FFL_TYPE_OF_PATTERN[0] == "C1"  # (+,+,+)
    assert FFL_TYPE_OF_PATTERN[2] == "I1"  # X activates Y and Z, Y represses Z
    assert sorted(FFL_TYPE_OF_PATTERN.values()) == ["C1", "C2", "C3", "C4", "I1", "I2", "I3", "I4"]


def eight_ffls():
    """Eight disjoint FFLs x->y->z, x->z (layers 0,1,2), one per sign pattern."""
    src, dst, neg = [], [], []
    for p in range(8):
        x, y, z = 3 * p, 3 * p + 1, 3 * p + 2
        src += [x, y, x]
        dst += [y, z, z]
        neg += [bool(p & 4), bool(p & 2), bool(p & 1)]
    layer = np.tile([0, 1, 2], 8)
    return EdgeSet.from_arrays(24, src, dst, neg, layer)


def test_each_pattern_counted_once_and_aggregates():
    c = with_aggregates(signed_counts(eight_ffls()))
    for t in ("C1", "C2", "C3", "C4", "I1", "I2", "I3", "I4"):
        assert c[IDX[f"ffl_{t}"]] == 1
    assert c[IDX["coherent_ffl"]] == 4 and c[IDX["incoherent_ffl"]] == 4
    # circuit-motifs' strict templates: only (+,+,+) and (+,+,-)
    assert c[IDX["cm_coherent_ffl"]] == 1 and c[IDX["cm_incoherent_ffl"]] == 1
    # chains (not induced): x->y->z with (+,+) in patterns 0,1 and (+,-) in patterns 2,3
    assert c[IDX["amplification_chain"]] == 2 and c[IDX["damping_chain"]] == 2


def test_cross_chain_inhibition_and_layer_gaps():
    # A(0)->A'(1) +, B(0)->B'(1) +, A->B' -, B->A' -
    e = EdgeSet.from_arrays(4, [0, 1, 0, 1], [2, 3, 3, 2], [False, False, True, True], [0, 0, 1, 1])
    assert signed_counts(e)[IDX["cross_chain_inhibition"]] == 1
    e2 = EdgeSet.from_arrays(4, [0, 1, 0, 1], [2, 3, 3, 2], [False, False, True, False], [0, 0, 1, 1])
    assert signed_counts(e2)[IDX["cross_chain_inhibition"]] == 0
    # a gap-3 edge leaves the motif subgraph under max_gap=2; same-layer edges never count
    f = EdgeSet.from_arrays(3, [0, 1, 0], [1, 2, 2], None, [0, 1, 3])
    assert signed_counts(f, GapLimits(1, None))[IDX["ffl_C1"]] == 1
    assert signed_counts(f, GapLimits(1, 2))[IDX["ffl_C1"]] == 0
    flat = EdgeSet.from_arrays(3, [0, 1, 0], [1, 2, 2], None, [0, 0, 0])
    assert signed_counts(flat).sum() == 0
    with pytest.raises(ValueError, match="forward"):
        GapLimits(0, None)


def brute(e: EdgeSet, gaps: GapLimits) -> np.ndarray:
    es = {(s, d): ng for s, d, ng in zip(e.src.tolist(), e.dst.tolist(), e.neg.tolist()) if gaps.mask(np.array([e.layer[d] - e.layer[s]]))[0]}
    out = dict.fromkeys(SIGNED_MOTIFS, 0)
    for (x, y), a in es.items():
        for (y2, z), b in es.items():
            if y2 != y:
                continue
            out["amplification_chain"] += (not a) and (not b)
            out["damping_chain"] += (not a) and b
            if (x, z) in es:
                out["ffl_" + FFL_TYPE_OF_PATTERN[4 * a + 2 * b + es[(x, z)]]] += 1
    for A, B in itertools.combinations(range(e.n), 2):
        for Al, Bl in itertools.permutations(range(e.n), 2):
            if len({A, B, Al, Bl}) == 4 and es.get((A, Al)) is False and es.get((B, Bl)) is False and es.get((A, Bl)) is True and es.get((B, Al)) is True:
                out["cross_chain_inhibition"] += 1
    return np.array([out[m] for m in SIGNED_MOTIFS])


@pytest.mark.parametrize("seed", range(4))
def test_counts_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 11
    mask = rng.random((n, n)) < 0.35
    np.fill_diagonal(mask, False)
    s, d = np.nonzero(mask)
    e = EdgeSet.from_arrays(n, s, d, rng.random(s.size) < 0.4, rng.integers(-1, 5, n))
    for gaps in (GapLimits(), GapLimits(1, 2), GapLimits(2, None)):
        assert np.array_equal(signed_counts(e, gaps), brute(e, gaps))


def test_batched_signed_counts_on_null_samples():
    rng = np.random.default_rng(9)
    n = 20
    layer = np.repeat(np.arange(5), 4)
    pairs = [(a, b) for a in range(n) for b in range(n) if layer[a] < layer[b] and rng.random() < 0.35]
    e = EdgeSet.from_arrays(n, [a for a, _ in pairs], [b for _, b in pairs], rng.random(len(pairs)) < 0.3, layer)
    for model, mode in (("layer_configuration", "shuffle"), ("configuration", "keep")):
        b = next(NullModel(e, model, mode, signed=True).batches(6, np.random.default_rng(1)))
        S, E = b.src.shape
        got = signed_counts_batch(np.repeat(np.arange(S), E), b.src, b.dst, b.neg, layer, n, S, GapLimits(1, 3))
        for s in range(S):
            one = EdgeSet.from_arrays(n, b.src[s], b.dst[s], b.neg[s], layer)
            assert np.array_equal(got[s], brute(one, GapLimits(1, 3)))


@pytest.mark.parametrize("seed", range(3))
def test_compiled_signed_counts_equal_brute_force(seed):
    """The bit-matrix signed counts the null chains use (n > 64: several words per row)."""
    from r1interp.motifs.nulls import signed_of_edge_lists

    rng = np.random.default_rng(seed)
    n = 11 if seed < 2 else 70
    mask = rng.random((n, n)) < (0.35 if n == 11 else 0.08)
    np.fill_diagonal(mask, False)
    s, d = np.nonzero(mask)
    e = EdgeSet.from_arrays(n, s, d, rng.random(s.size) < 0.4, rng.integers(-1, 5, n))
    for gaps in (GapLimits(), GapLimits(1, 2), GapLimits(2, None)):
        got = signed_of_edge_lists(e.src[None], e.dst[None], e.neg[None], n, e.layer, gaps)[0]
        want = brute(e, gaps) if n == 11 else signed_counts(e, gaps)
        assert np.array_equal(got, want)


def test_cross_chain_counted_over_the_smaller_side_either_way():
    """The compiled count sums cross-chain inhibition over the smaller of the two node sets,
    sources with both signs out or targets with both signs in. A bipartite graph with ten
    mixed-sign sources and four mixed-sign targets, and its transpose (the same count), take
    one way each; both must equal the brute-force count."""
    from r1interp.motifs.nulls import signed_of_edge_lists

    rng = np.random.default_rng(5)
    sources, targets = np.arange(10), np.arange(10, 14)
    s, d = (a.ravel() for a in np.meshgrid(sources, targets, indexing="ij"))
    neg = rng.random(s.size) < 0.5
    layer = np.where(np.arange(14) < 10, 0, 1)
    forward = EdgeSet.from_arrays(14, s, d, neg, layer)
    backward = EdgeSet.from_arrays(14, d, s, neg, 1 - layer)
    counts = []
    for e in (forward, backward):
        got = signed_of_edge_lists(e.src[None], e.dst[None], e.neg[None], e.n, e.layer, GapLimits())[0]
        assert np.array_equal(got, brute(e, GapLimits()))
        counts.append(got[SIGNED_MOTIFS.index("cross_chain_inhibition")])
    assert counts[0] == counts[1] > 0
