"""``bench/bench_thinning.py``: the needed thinning read off a recording, and the pilot replayed on it."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import bench_thinning as BT  # noqa: E402

from r1interp.motifs.edges import EdgeSet  # noqa: E402
from r1interp.motifs.loader import parse_attribution_graph  # noqa: E402
from r1interp.motifs.nulls import ChainSchedule  # noqa: E402
from r1interp.motifs.synthetic import random_attribution_graph  # noqa: E402


def ar1(phis: list[float], n: int, seed: int) -> np.ndarray:
    """``[n, len(phis)]`` independent AR(1) series: autocorrelation ``phi ** lag`` exactly."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, len(phis)))
    noise = rng.standard_normal((n, len(phis)))
    phis_ = np.asarray(phis)
    for t in range(1, n):
        x[t] = phis_ * x[t - 1] + noise[t]
    return x


def test_needed_thinning_is_the_first_lag_at_the_target_on_a_known_process():
    x = ar1([0.9, 0.5], 200_000, seed=0)
    acf = BT.slowest_acf(x, 60)
    assert acf[0] == pytest.approx(1.0)
    assert acf[5] == pytest.approx(0.9**5, abs=0.02)  # the slower column sets the curve
    exact = math.ceil(math.log(0.1) / math.log(0.9))  # 22: 0.9**21 = 0.109, 0.9**22 = 0.098
    assert BT.needed_thinning(acf, 0.1) in (exact - 1, exact, exact + 1)
    assert BT.needed_thinning(acf[:10], 0.1) is None  # not reached within the curve


def test_replayed_pilots_choose_the_exact_lag_where_extrapolation_is_exact():
    """On an AR(1) process a short-lag pilot extrapolates exactly, so its choices must centre on
    log(0.1)/log(phi), spread by its noise; and every window is a fresh pilot of the schedule's
    size (``pilot`` counts, extended while cheap: here the thinning is ~22, so 400 → 800)."""
    x = ar1([0.9, 0.3], 200_000, seed=1)
    sch = ChainSchedule()
    chosen = np.array(BT.replay_pilots(x, sch, samples=1000))
    exact = math.log(0.1) / math.log(0.9)
    assert len(chosen) == 200_000 // (2 * sch.pilot * int(sch.pilot_lag))  # 800-count pilots, lag 2
    assert abs(np.median(chosen) - exact) < 0.1 * exact
    assert chosen.min() >= sch.min_thin and chosen.max() <= sch.max_thin


def test_measure_on_a_real_chain_reports_a_needed_thinning_and_pilots():
    g = parse_attribution_graph(random_attribution_graph(n_layers=4, n_pos=4, features_per_layer=6, n_edges=120, seed=3))
    edges = EdgeSet.from_igraph(g, 4)
    args = type("Args", (), {"series": 20_000, "seed": 0, "samples": 1000, "max_lag": 100})()
    r = BT.measure("toy", edges, "signed configuration/keep", "configuration", True, "keep", args)
    assert r["series"] == 20_000 and r["pilots"] >= 10
    assert r["needed_thin"] is not None and 1 <= r["needed_thin"] <= 100
    assert r["acf_curve"][r["needed_thin"]] <= 0.1 < r["acf_curve"][r["needed_thin"] - 1]
    assert r["chosen_p10"] <= r["chosen_median"] <= r["chosen_p90"]


def test_timed_runs_each_null_at_its_pilots_and_at_its_needed_thinning():
    """``--timed`` compares signed with unsigned at equal autocorrelation: the second schedule
    fixes the needed thinning (no pilot), and a null whose recording never reached the target
    is timed only as its pilot thins it; the ratios pair the nulls ``bench_motifs.py`` pairs."""
    both = BT.timing_schedules({"needed_thin": 37})
    assert both["pilot"] == ChainSchedule() and both["needed"].thin == 37.0
    assert both["needed"].burn_in == ChainSchedule().burn_in
    assert set(BT.timing_schedules({"needed_thin": None})) == {"pilot"}
    times = {("configuration", "pilot"): 1.0, ("configuration", "needed"): 4.0,
             ("signed configuration/keep", "pilot"): 3.0, ("signed configuration/keep", "needed"): 6.0,
             ("layer_configuration", "pilot"): 2.0, ("signed layer_conf/keep", "pilot"): 3.0}
    assert BT.signed_over_unsigned(times) == {("signed configuration/keep", "pilot"): 3.0, ("signed configuration/keep", "needed"): 1.5,
                                             ("signed layer_conf/keep", "pilot"): 1.5}


def test_timed_times_every_measured_null_at_each_of_its_schedules():
    g = parse_attribution_graph(random_attribution_graph(n_layers=4, n_pos=4, features_per_layer=6, n_edges=120, seed=3))
    edges = EdgeSet.from_igraph(g, 4)
    rows = [{"null": "configuration", "needed_thin": 7}, {"null": "signed configuration/keep", "needed_thin": None}]
    times = BT.timed_at_both_thinnings(edges, rows, samples=30, seed=2, repeat=2)
    assert set(times) == {("configuration", "pilot"), ("configuration", "needed"), ("signed configuration/keep", "pilot")}
    assert all(v > 0 for v in times.values())
