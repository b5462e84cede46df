"""Null models keep what they promise, sample the right ensemble, are reproducible by seed, and
their census is exact."""

from __future__ import annotations

from collections import Counter

import igraph as ig
import numpy as np
import pytest

from r1interp.artifacts import motif_labels as L
from r1interp.motifs.census import census_igraph
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.loader import parse_attribution_graph
from r1interp.motifs.nulls import ChainSchedule, NullModel, sample_without_replacement, signed_of_edge_lists
from r1interp.motifs.signed import GapLimits, signed_counts
from r1interp.motifs.stats import significance_profile, z_profile, zscores
from r1interp.motifs.synthetic import random_attribution_graph


@pytest.fixture(scope="module")
def edges():
    g = parse_attribution_graph(random_attribution_graph(n_layers=5, features_per_layer=12, n_edges=260, seed=11, inhibitory_fraction=0.35))
    return EdgeSet.from_igraph(g, 5)


def samples(nm: NullModel, n: int, seed: int):
    return list(nm.batches(n, np.random.default_rng(seed), chunk=7))


def degree(nodes, n):
    return np.bincount(nodes, minlength=n)


def check_simple(src, dst):
    assert not np.any(src == dst)
    assert len(set(zip(src.tolist(), dst.tolist()))) == src.size


def test_configuration_preserves_degrees_and_is_simple(edges):
    for b in samples(NullModel(edges, "configuration"), 20, 0):
        for s in range(b.size):
            check_simple(b.src[s], b.dst[s])
            assert np.array_equal(degree(b.src[s], edges.n), degree(edges.src, edges.n))
            assert np.array_equal(degree(b.dst[s], edges.n), degree(edges.dst, edges.n))


def layer_pair_degrees(src, dst, layer, n):
    c = Counter()
    for s, d in zip(src.tolist(), dst.tolist()):
        c[("out", s, layer[d])] += 1
        c[("in", d, layer[s])] += 1
    return c


def test_layer_configuration_preserves_per_layer_pair_degrees(edges):
    real = layer_pair_degrees(edges.src, edges.dst, edges.layer, edges.n)
    real_pairs = Counter(zip(edges.layer[edges.src].tolist(), edges.layer[edges.dst].tolist()))
    moved = 0
    for b in samples(NullModel(edges, "layer_configuration"), 15, 1):
        for s in range(b.size):
            check_simple(b.src[s], b.dst[s])
            assert layer_pair_degrees(b.src[s], b.dst[s], edges.layer, edges.n) == real
            assert Counter(zip(edges.layer[b.src[s]].tolist(), edges.layer[b.dst[s]].tolist())) == real_pairs
            moved += len(set(zip(b.src[s].tolist(), b.dst[s].tolist())) - set(zip(edges.src.tolist(), edges.dst.tolist())))
    assert moved > 0  # it does rewire


def test_erdos_renyi_keeps_node_and_edge_counts(edges):
    for b in samples(NullModel(edges, "erdos_renyi"), 10, 2):
        assert b.src.shape == (b.size, edges.m)
        for s in range(b.size):
            check_simple(b.src[s], b.dst[s])
            assert b.src[s].max() < edges.n and b.dst[s].max() < edges.n


def test_layer_er_keeps_layer_pair_counts(edges):
    real = Counter(zip(edges.layer[edges.src].tolist(), edges.layer[edges.dst].tolist()))
    for b in samples(NullModel(edges, "layer_er"), 10, 3):
        for s in range(b.size):
            check_simple(b.src[s], b.dst[s])
            assert Counter(zip(edges.layer[b.src[s]].tolist(), edges.layer[b.dst[s]].tolist())) == real


def test_signed_keep_preserves_signed_degrees_shuffle_preserves_sign_counts(edges):
    def signed_deg(src, dst, neg):
        return (degree(src[neg], edges.n), degree(src[~neg], edges.n), degree(dst[neg], edges.n), degree(dst[~neg], edges.n))

    real = signed_deg(edges.src, edges.dst, edges.neg)
    for model in ("configuration", "layer_configuration"):
        for b in samples(NullModel(edges, model, "keep", signed=True), 8, 4):
            for s in range(b.size):
                check_simple(b.src[s], b.dst[s])
                for a, r in zip(signed_deg(b.src[s], b.dst[s], b.neg[s]), real):
                    assert np.array_equal(a, r)
    changed = False
    for b in samples(NullModel(edges, "configuration", "shuffle", signed=True), 8, 5):
        assert np.all(b.neg.sum(1) == edges.neg.sum())
        changed |= any(not np.array_equal(signed_deg(b.src[s], b.dst[s], b.neg[s])[0], real[0]) for s in range(b.size))
    assert changed
    pair = lambda s, d: list(zip(edges.layer[s].tolist(), edges.layer[d].tolist()))  # noqa: E731
    real_signed = Counter(zip(pair(edges.src, edges.dst), edges.neg.tolist()))
    for b in samples(NullModel(edges, "layer_er", "keep", signed=True), 6, 6):
        for s in range(b.size):
            assert Counter(zip(pair(b.src[s], b.dst[s]), b.neg[s].tolist())) == real_signed


@pytest.mark.parametrize("model", ["configuration", "layer_configuration", "erdos_renyi", "layer_er"])
def test_reproducible_by_seed(edges, model):
    a = samples(NullModel(edges, model), 9, 42)
    b = samples(NullModel(edges, model), 9, 42)
    c = samples(NullModel(edges, model), 9, 43)
    assert all(np.array_equal(x.src, y.src) and np.array_equal(x.dst, y.dst) for x, y in zip(a, b))
    assert any(not np.array_equal(x.src, y.src) or not np.array_equal(x.dst, y.dst) for x, y in zip(a, c))


@pytest.mark.parametrize("model", ["configuration", "layer_configuration", "erdos_renyi"])
def test_batched_null_census_is_exact(edges, model):
    for b in samples(NullModel(edges, model), 10, 7):
        got = b.triad_census()
        for s in range(b.size):
            g = ig.Graph(n=edges.n, edges=np.column_stack([b.src[s], b.dst[s]]).tolist(), directed=True)
            assert np.array_equal(got[s], census_igraph(g))


@pytest.mark.parametrize("model", ["configuration", "layer_configuration"])
def test_in_chain_census_equals_census_of_the_same_samples(edges, model):
    """The counts made inside the compiled chain are those of the graphs it yields (same seed;
    a fixed thinning: under the auto one the first counts come from the pilot, which records no
    edge lists)."""
    schedule = ChainSchedule(thin=3.0)
    fast = NullModel(edges, model, schedule=schedule).triad_counts(12, np.random.default_rng(3))
    graphs = np.concatenate([b.triad_census() for b in NullModel(edges, model, schedule=schedule).batches(12, np.random.default_rng(3), chunk=5)])
    assert np.array_equal(fast, graphs)


@pytest.mark.parametrize("model", ["configuration", "layer_configuration"])
@pytest.mark.parametrize("gaps", [GapLimits(), GapLimits(1, 2), GapLimits(2, None)])
def test_kept_sign_counts_read_from_the_chain_bits_equal_those_of_its_edge_lists(edges, model, gaps):
    """Kept-sign chains count signed motifs from their own sign bit matrices (gap rule by layer
    masks); the same chain's edge lists, counted edge by edge, must give the same numbers, so
    the bit matrices, the slots and the gap masks stay in step through every signed move."""
    schedule = ChainSchedule(thin=3.0)
    fast = NullModel(edges, model, "keep", signed=True, schedule=schedule).signed_counts(15, np.random.default_rng(8), gaps)
    nm = NullModel(edges, model, "keep", signed=True, schedule=schedule)
    slow = np.concatenate([signed_of_edge_lists(b.src, b.dst, b.neg, edges.n, edges.layer, gaps) for b in nm.batches(15, np.random.default_rng(8), chunk=4)])
    assert np.array_equal(fast, slow)
    assert nm.last_chain.accepted > 0 and len({tuple(r) for r in fast.tolist()}) > 1  # the chain moved
    real = signed_counts(edges, gaps)
    assert np.array_equal(signed_of_edge_lists(edges.src, edges.dst, edges.neg, edges.n, edges.layer, gaps)[0], real)


def bit_edges(bits: np.ndarray) -> set[tuple[int, int]]:
    """The ``(row, column)`` pairs set in a bit matrix of ``uint64`` row words."""
    rows, cols = np.nonzero(np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little"))
    return set(zip(rows.tolist(), cols.tolist()))


@pytest.mark.parametrize("model", ["configuration", "layer_configuration"])
@pytest.mark.parametrize("moves", ["trade", "swap"])
def test_kept_sign_slots_match_the_bits_after_every_run(edges, model, moves):
    """Signed moves update only the bit matrices; every run must end with the slots rewritten
    from them (and moves that read slots of kept-sign strata rewrite them first), so the edge
    lists a caller reads are the graph the chain is in, with the slot's sign, and each stratum's
    in-degrees (where two-target moves pick their targets) never change."""
    nm = NullModel(edges, model, "keep", signed=True, schedule=ChainSchedule(moves=moves))
    ch = nm.chain(np.random.default_rng(4))
    in_degrees = np.sort(ch.tgt + ch.n * ch.sid)  # each stratum's targets, by in-degree
    for _ in range(4):
        assert ch.run(3 * edges.m) > 0
        slots = set(zip(ch.src.tolist(), ch.tgt.tolist()))
        assert len(slots) == edges.m and slots == bit_edges(ch.out_b)
        assert {(v, u) for u, v in slots} == bit_edges(ch.in_b)
        assert set(zip(ch.src[ch.neg].tolist(), ch.tgt[ch.neg].tolist())) == bit_edges(ch.neg_out)
        assert np.array_equal(np.sort(ch.tgt + ch.n * ch.sid), in_degrees)
    assert slots != set(zip(edges.src.tolist(), edges.dst.tolist()))


def test_configuration_null_matches_igraph_rewire_in_distribution(edges):
    """Our chain and igraph's rewire (circuit-motifs; an independent implementation) agree."""
    ours = NullModel(edges, "configuration").triad_counts(400, np.random.default_rng(8))
    g = edges.to_igraph()
    base = []
    for _ in range(150):
        h = g.copy()
        h.rewire(n=10 * edges.m)
        base.append(census_igraph(h))
    base = np.array(base)
    for k in L.CONNECTED:
        se = np.sqrt(ours[:, k].var() / len(ours) + base[:, k].var() / len(base))
        assert abs(ours[:, k].mean() - base[:, k].mean()) <= 4.5 * se + 1e-9, L.TRIAD_LABELS[k]


def test_sample_without_replacement_is_a_subset_per_row():
    rng = np.random.default_rng(0)
    for N, c in ((50, 10), (12, 10), (1000, 999)):
        r = sample_without_replacement(rng, 30, N, c)
        assert r.shape == (30, c)
        assert all(np.unique(row).size == c for row in r) and r.min() >= 0 and r.max() < N
    with pytest.raises(ValueError):
        sample_without_replacement(rng, 1, 3, 4)


def test_z_and_sp_edge_cases():
    null = np.array([[1.0, 5.0, 0.0, 2.0], [3.0, 5.0, 0.0, 2.0]])
    real = np.array([4.0, 5.0, 0.0, 7.0])
    z, mean, std = zscores(real, null)
    assert z[0] == pytest.approx((4 - 2) / 1.0)  # ddof 0: std of [1, 3] is 1
    assert z[1] == 0.0 and z[2] == 0.0  # std 0, real == mean
    assert z[3] == np.inf  # std 0, real > mean
    assert zscores(np.array([1.0]), np.array([[2.0], [2.0]]))[0][0] == -np.inf
    sp = significance_profile(z)
    assert sp[3] == pytest.approx(100 / np.sqrt(100**2 + 2**2))  # inf capped at 100
    assert np.linalg.norm(sp) == pytest.approx(1.0)
    assert np.array_equal(significance_profile(np.zeros(5)), np.zeros(5))
    res = z_profile(real, null, np.array([True, True, True, False]))
    assert np.isnan(res.sp[3]) and np.linalg.norm(res.sp[:3]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        zscores(real, null[:, :2])


def test_auto_thinning_follows_the_measured_autocorrelation():
    from r1interp.motifs.nulls import thinning_from_acf

    rng = np.random.default_rng(0)
    for r in (0.3, 0.8, 0.95):
        x = np.zeros((20000, 2))
        noise = rng.standard_normal(x.shape)
        for t in range(1, len(x)):
            x[t] = r * x[t - 1] + noise[t]
        thin, est = thinning_from_acf(x, 0.05, 1.0, 500.0)
        assert est == pytest.approx(r, abs=0.03)
        assert thin == pytest.approx(np.log(0.05) / np.log(r), rel=0.15)
    assert thinning_from_acf(rng.standard_normal((500, 3)), 0.05, 2.0, 60.0)[0] == 2.0  # clamped below
    const = np.ones((50, 2))
    assert thinning_from_acf(const, 0.05, 2.0, 60.0) == (2.0, 0.0)


def test_a_class_seen_in_one_burst_does_not_set_the_thinning():
    """A rare class present in one run of consecutive pilot counts (2 changes) reads as a very
    slow mode; its autocorrelation is unmeasured, not large, so with ``min_changes`` the thinning
    rests on the classes the pilot did measure — and a class that changes often enough still counts."""
    from r1interp.motifs.nulls import thinning_from_acf

    rng = np.random.default_rng(1)
    x = np.zeros((1600, 3))
    noise = rng.standard_normal((1600, 2))
    for t in range(1, len(x)):
        x[t, :2] = (0.5, 0.6) * x[t - 1, :2] + noise[t]
    x[700:724, 2] = 1  # one burst: 24 counts
    measured = thinning_from_acf(x[:, :2], 0.1, 2.0, 200.0, 2.0)
    assert thinning_from_acf(x, 0.1, 2.0, 200.0, 2.0, min_changes=10) == measured
    assert thinning_from_acf(x, 0.1, 2.0, 200.0, 2.0)[0] > 5 * measured[0]  # without the rule the burst sets it
    x[:, 2] = (np.arange(1600) // 60) % 2  # a slow class seen in 26 runs (25 changes): it counts
    slow = thinning_from_acf(x, 0.1, 2.0, 200.0, 2.0, min_changes=10)
    assert slow == thinning_from_acf(x, 0.1, 2.0, 200.0, 2.0) and slow[0] > 5 * measured[0]


def test_chain_picks_more_thinning_on_a_dense_graph_than_on_a_sparse_one(edges):
    from r1interp.motifs.dense import dense_attribution_graph

    dense = EdgeSet.from_igraph(parse_attribution_graph(dense_attribution_graph(n_nodes=40, n_edges=380, n_layers=6, seed=1)), 6)
    thin = {}
    for name, e in (("sparse", edges), ("dense", dense)):
        nm = NullModel(e, "configuration")
        nm.triad_counts(5, np.random.default_rng(0))
        thin[name] = nm.last_chain.thin
        assert 0 <= nm.last_chain.pilot_acf < 1
    assert thin["dense"] > thin["sparse"]


def test_slow_chains_get_a_longer_pilot_within_its_share_of_the_sampling(edges):
    """The pilot grows by ``pilot`` counts while it costs less than ``pilot_share`` of drawing
    the requested samples at the thinning it found, never past ``max_pilot``; with no share, or
    for a draw too small to be worth it, it stays at ``pilot``. The grown pilot is one series of
    the same chain at the same lag: its thinning is what the chain then samples with."""
    from r1interp.motifs.nulls import thinning_from_acf

    base = dict(pilot=40, pilot_lag=2.0, max_pilot=120)
    for share, samples, want in ((0.0, 1000, 40), (0.05, 10, 40), (0.5, 1000, 120)):
        nm = NullModel(edges, "configuration", schedule=ChainSchedule(pilot_share=share, **base))
        nm.triad_counts(samples, np.random.default_rng(3))
        ch = nm.last_chain
        assert ch.pilot_counts == want, (share, samples)
        assert ch.pilot_counts * base["pilot_lag"] >= share * samples * ch.thin or ch.pilot_counts == base["max_pilot"]
    # grown to 120 counts, the pilot is the 40-count one continued: the same series as 120 counts
    # of a fixed-thin chain at the pilot's lag from the same seed, so the same thinning
    short = NullModel(edges, "configuration", schedule=ChainSchedule(thin=2.0, burn_in=200.0)).chain(np.random.default_rng(3)).triads(120)
    sch = ChainSchedule(pilot_share=0.5, **base)
    nm = NullModel(edges, "configuration", schedule=sch)
    nm.triad_counts(1000, np.random.default_rng(3))
    assert nm.last_chain.thin == thinning_from_acf(short, sch.target_acf, sch.min_thin, sch.max_thin, sch.pilot_lag, sch.min_changes)[0]
    with pytest.raises(ValueError):
        ChainSchedule(pilot=400, max_pilot=100)


def test_the_pilot_counts_a_thinning_apart_are_the_first_samples(edges):
    """The pilot is the same chain, after burn-in, counting the statistics being drawn: the first
    draw keeps its counts that lie a thinning or more apart, ending with its last, and draws the
    rest. They equal a fixed-lag chain's counts from the same seed at those places."""
    sch = ChainSchedule(pilot=120, pilot_share=0.0, max_pilot=120)
    nm = NullModel(edges, "configuration", schedule=sch)
    got = nm.triad_counts(300, np.random.default_rng(3))
    step, thin = round(sch.pilot_lag * edges.m), max(1, round(nm.last_chain.thin * edges.m))
    every = -(-thin // step)
    kept = np.arange(119, -1, -every)[::-1]
    assert every >= 2 and 2 <= kept.size < 300
    pilot = NullModel(edges, "configuration", schedule=ChainSchedule(thin=sch.pilot_lag, burn_in=sch.burn_in)).chain(np.random.default_rng(3)).triads(120)
    assert got.shape == (300, L.N_TRIADS)
    assert np.array_equal(got[: kept.size], pilot[kept])
    assert not np.array_equal(got[kept.size], got[kept.size - 1])  # then the chain goes on sampling


def test_bench_dense_graph_specs_count_what_is_asked():
    """``bench_motifs.py --dense 0`` (only ``--graph`` files) must generate no dense graph."""
    from r1interp.motifs.dense import bench_graph_specs

    assert bench_graph_specs(0) == []
    one, four = bench_graph_specs(1), bench_graph_specs(4)
    assert [s["n_layers"] for s in one] == [12]
    assert [s["n_layers"] for s in four] == [6, 13, 21, 28]
    assert all(s["n_nodes"] == 80 and 1300 <= s["n_edges"] <= 1700 for s in one + four)


def test_bench_takes_several_graphs_per_flag_and_names_a_missing_one(tmp_path):
    """``--graph`` takes a shell glob's many paths and repeats; a missing file stops the bench
    before any work, naming the file."""
    import argparse
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    import bench_motifs as BM

    ap = argparse.ArgumentParser()
    BM.add_graph_arguments(ap)
    a, b, c = (tmp_path / f"g{i}.json" for i in range(3))
    args = ap.parse_args(["--graph", str(a), str(b), "--graph", str(c), "--dense", "0"])
    assert args.graph == [a, b, c]
    with pytest.raises(SystemExit, match="g1.json"):
        BM.bench_graphs(args)


def test_bench_times_the_baseline_in_the_same_rounds_as_the_nulls(monkeypatch):
    """The speed ratio compares times over the same stretch of the run: the circuit-motifs way's
    samples are drawn in one chunk at the start of each round, all of them, and every null runs
    once per round with its one seed."""
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    import bench_motifs as BM

    calls = []

    def fake_draw(edges, model, signed, mode, n, seed, schedule=None):
        calls.append(("null", seed))
        return np.full((n, 3), seed), None

    def baseline(k):
        calls.append(("base", k))
        return np.zeros((k, 16))

    monkeypatch.setattr(BM, "draw", fake_draw)
    nulls, (base, cpu, wall) = BM.timed_draws(None, 5, 10, 3, baseline, 1000)
    per_round = 1 + len(BM.NULLS)
    assert len(calls) == 3 * per_round
    assert [c for c in calls[::per_round]] == [("base", 334), ("base", 333), ("base", 333)]
    assert all(c[0] == "null" for i, c in enumerate(calls) if i % per_round)
    assert base.shape == (1000, 16) and cpu >= 0 and wall >= 0
    assert set(nulls) == {n[0] for n in BM.NULLS} and all(v[0].shape == (5, 3) for v in nulls.values())
    assert BM.timed_draws(None, 5, 10, 2)[1] is None  # no baseline: only the nulls


def test_bench_times_each_null_over_several_seeds(monkeypatch):
    """``--seeds K``: every null is drawn from K chains with distinct seeds in every round, its
    time is the mean over the chains (each the median of its repeats), and its samples are the
    first chain's — so the mean-vs-reference check sees the same draws as with one seed."""
    import sys

    from conftest import REPO

    sys.path.insert(0, str(REPO / "bench"))
    import bench_motifs as BM

    seen: list[int] = []

    def fake_draw(edges, model, signed, mode, n, seed, schedule=None):
        seen.append(seed)
        return np.full((n, 3), seed), None

    class FakeClock:  # a chain's "time" is its seed's stride index + 1, whatever the machine does
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.cpu = self.wall = float(seen[-1] // BM.SEED_STRIDE + 1)

    monkeypatch.setattr(BM, "draw", fake_draw)
    monkeypatch.setattr(BM, "Clock", FakeClock)
    nulls, base = BM.timed_draws(None, 5, 10, 3, seeds=2)
    assert base is None and len(seen) == 3 * 2 * len(BM.NULLS)
    for k, (label, *_) in enumerate(BM.NULLS):
        out, _, cpu, wall, per_seed = nulls[label]
        assert sorted(set(s for s in seen if s % BM.SEED_STRIDE == 10 + k)) == [10 + k, 10 + k + BM.SEED_STRIDE]
        assert np.all(out == 10 + k)  # the first seed's draws
        assert per_seed == [1.0, 2.0] and cpu == wall == 1.5
