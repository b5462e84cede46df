"""Benchmark: does the auto thinning meet its target? The pilot's choice against a long recording.

The samplers thin their chain so that consecutive samples' autocorrelation (slowest class) is
``ChainSchedule.target_acf``, a lag they read off a short pilot (:func:`nulls.pilot_thinning`).
That lag decides both the cost of a null and how much its samples are worth, so this bench
measures it against the truth, per graph and null:

* one long recording of the chain (``--series`` counts, one every 1 × E of chain work, after the
  burn-in) gives the slowest class's autocorrelation at every lag, so the **needed** thinning
  (the first lag where it is ≤ the target) and the integrated autocorrelation time;
* the pilot is replayed on consecutive windows of the same recording, with the schedule's own
  rules (``pilot`` counts at ``pilot_lag``, extended while cheap for ``--samples`` samples),
  giving the distribution of the thinning **chosen** over many seeds' worth of pilots and the
  true autocorrelation at each choice.

Chosen < needed means samples more correlated than the target says (the standard errors the
bench and the reports compute count their measured autocorrelation, so they stay honest; the
null is then worth fewer independent samples); chosen > needed means time spent for nothing.
Needs ``pilot_lag`` to be a whole number of E (the recording's step). No exit status targets:
this is a measurement.

    python bench/bench_thinning.py --dense 2
    python bench/bench_thinning.py --graph results/toy-base/graphs/toy-comparison-0-think-p58.json --dense 0 --null "signed configuration/keep"
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench_motifs import NULLS, add_graph_arguments, bench_graphs, tau
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.nulls import ChainSchedule, NullModel, pilot_thinning
from r1interp.motifs.signed import GapLimits


def record(edges: EdgeSet, model: str, signed: bool, mode: str, n: int, seed: int) -> np.ndarray:
    """``[n, K]`` counts of one chain, one every 1 × E after the default burn-in: the statistics its
    pilot would count (triad census, or signed motifs)."""
    nm = NullModel(edges, model, mode, signed, ChainSchedule(thin=1.0))
    rng = np.random.default_rng(seed)
    return nm.signed_counts(n, rng, GapLimits()) if signed else nm.triad_counts(n, rng)


def slowest_acf(series: np.ndarray, max_lag: int) -> np.ndarray:
    """``[max_lag + 1]``: per lag (in the series' steps) the largest autocorrelation over its
    non-constant columns (FFT, means removed, biased estimator as the pilot's)."""
    x = np.asarray(series, dtype=np.float64)
    x = x[:, x.std(0) > 0]
    if x.shape[1] == 0:
        return np.zeros(max_lag + 1)
    x = (x - x.mean(0)) / x.std(0)
    n = len(x)
    f = np.fft.rfft(x, 2 * n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), axis=0)[: max_lag + 1] / n
    return acf.max(axis=1)


def needed_thinning(acf: np.ndarray, target: float) -> int | None:
    """The first lag whose autocorrelation is ≤ ``target`` (``None``: none within the curve)."""
    below = np.flatnonzero(acf <= target)
    return int(below[0]) if below.size else None


def replay_pilots(series: np.ndarray, schedule: ChainSchedule, samples: int) -> list[float]:
    """Thinning chosen by :func:`pilot_thinning` on consecutive windows of a 1 × E recording."""
    lag = schedule.pilot_lag
    if lag != int(lag) or lag < 1:
        raise SystemExit(f"pilot_lag must be a whole number of E to replay on a 1 x E recording, got {lag}")
    step = int(lag)
    chosen, pos = [], 0

    def more(k: int) -> np.ndarray:  # the next k counts of the recording, one every pilot_lag
        nonlocal pos
        rows = series[pos: pos + k * step: step]
        pos += k * step
        if len(rows) < k:
            raise EOFError
        return rows

    while True:  # each pilot starts where the last one stopped
        try:
            _, thin, _ = pilot_thinning(schedule, samples, more)
        except EOFError:
            return chosen
        chosen.append(thin)


def measure(name: str, edges: EdgeSet, label: str, model: str, signed: bool, mode: str, args) -> dict:
    schedule = ChainSchedule()
    t0 = time.process_time()
    series = record(edges, model, signed, mode, args.series, args.seed)
    acf = slowest_acf(series, args.max_lag)
    need = needed_thinning(acf, schedule.target_acf)
    chosen = np.array(replay_pilots(series, schedule, args.samples))
    at_choice = acf[np.clip(np.round(chosen).astype(int), 0, args.max_lag)] if chosen.size else np.zeros(0)
    taus = [tau(series[:, i]) for i in range(series.shape[1]) if series[:, i].std() > 0]
    q = (lambda a, p: float(np.percentile(a, p))) if chosen.size else (lambda a, p: float("nan"))
    return {
        "graph": name, "null": label, "n_edges": int(edges.m), "series": int(len(series)), "cpu_s": time.process_time() - t0,
        "tau_int": max(taus) if taus else 1.0, "needed_thin": need, "target_acf": schedule.target_acf,
        "pilots": int(chosen.size), "chosen_p10": q(chosen, 10), "chosen_median": q(chosen, 50), "chosen_p90": q(chosen, 90),
        "acf_at_choice_median": q(at_choice, 50), "acf_at_choice_p90": q(at_choice, 90),
        "acf_at_choice_max": float(at_choice.max()) if at_choice.size else float("nan"),
        "acf_curve": [float(a) for a in acf],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_graph_arguments(ap)
    ap.add_argument("--null", action="append", choices=[n[0] for n in NULLS], help="nulls to measure (repeatable; default: all but the shuffled-sign one)")
    ap.add_argument("--series", type=int, default=200_000, help="counts recorded per chain, one every 1 x E")
    ap.add_argument("--samples", type=int, default=1000, help="samples the replayed pilots plan for (their extension rule depends on it)")
    ap.add_argument("--max-lag", type=int, default=300, help="longest lag (x E) of the autocorrelation curve")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    wanted = args.null or [n[0] for n in NULLS if n[3] != "shuffle"]
    graphs = bench_graphs(args)
    rows = []
    print(f"{'graph':<34} {'E':>5} {'null':<26} {'tau':>5} {'needed':>6} {'chosen p10/med/p90':>19} {'acf at choice med/p90/max':>26} {'pilots':>6}")
    for name, g, n_layers in graphs:
        edges = EdgeSet.from_igraph(g, n_layers)
        for label, model, signed, mode in NULLS:
            if label not in wanted:
                continue
            r = measure(name, edges, label, model, signed, mode, args)
            rows.append(r)
            need = "> max" if r["needed_thin"] is None else str(r["needed_thin"])
            print(f"{name[-34:]:<34} {r['n_edges']:>5} {label:<26} {r['tau_int']:>5.1f} {need:>6} "
                  f"{r['chosen_p10']:>6.1f} {r['chosen_median']:>5.1f} {r['chosen_p90']:>6.1f} "
                  f"{r['acf_at_choice_median']:>8.3f} {r['acf_at_choice_p90']:>6.3f} {r['acf_at_choice_max']:>6.3f} {r['pilots']:>8}", flush=True)
    ratios = [r["chosen_median"] / r["needed_thin"] for r in rows if r["needed_thin"] and r["pilots"]]
    if ratios:
        print(f"chosen (median) / needed thinning: {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} chains; "
              f"true autocorrelation at the choice, median over chains {np.median([r['acf_at_choice_median'] for r in rows if r['pilots']]):.3f} (target {ChainSchedule().target_acf:g})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
