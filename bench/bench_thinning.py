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

With ``--timed``, each measured null is also timed (``--samples`` samples, the median of
``--repeat`` rounds over the nulls) at its pilot's thinning and at its needed one, and the
signed/unsigned time of each pair (kept-sign ``configuration`` over ``configuration``, kept-sign
``layer_configuration`` over ``layer_configuration``) is printed both ways: the second compares
the two nulls at equal autocorrelation between samples, where the first also compares how far
each one's pilot falls short.

    python bench/bench_thinning.py --dense 2
    python bench/bench_thinning.py --graph results/toy-base/graphs/toy-comparison-0-think-p58.json --dense 0 --null "signed configuration/keep"
    python bench/bench_thinning.py --dense 0 --threshold 0.02 --graph results/toy-base/graphs/toy-*.json --null configuration --null "signed configuration/keep" --series 100000 --timed
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from bench_motifs import NULLS, add_graph_arguments, bench_graphs, draw, in_rounds, tau
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


PAIRS = (("signed configuration/keep", "configuration"), ("signed layer_conf/keep", "layer_configuration"))
"""(signed, unsigned) nulls whose times ``--timed`` compares: the kept-sign pairs of
``bench_motifs.py``'s ratios (its ``layer_configuration`` ratio also takes the shuffled-sign null,
which this bench leaves out by default)."""
KIND_TEXT = {"pilot": "the pilot's thinning", "needed": "the needed thinning"}


def timing_schedules(row: dict) -> dict[str, ChainSchedule]:
    """The schedules ``--timed`` runs a measured null with: the default (its pilot's thinning)
    and, where the recording reached it, the needed thinning fixed (no pilot)."""
    out = {"pilot": ChainSchedule()}
    if row["needed_thin"] is not None:
        out["needed"] = ChainSchedule(thin=float(row["needed_thin"]))
    return out


def timed_at_both_thinnings(edges: EdgeSet, rows: list[dict], samples: int, seed: int, repeat: int) -> dict[tuple[str, str], float]:
    """``{(null, "pilot" | "needed"): cpu_s}``: each of one graph's measured nulls (``rows``)
    drawing ``samples`` samples with each of its :func:`timing_schedules`, timed as
    ``bench_motifs.in_rounds`` times (median of ``repeat`` rounds over all of them)."""
    spec = {label: (model, signed, mode) for label, model, signed, mode in NULLS}
    jobs = {(row["null"], kind): (lambda m=spec[row["null"]], sch=schedule: draw(edges, *m, samples, seed, sch))
            for row in rows for kind, schedule in timing_schedules(row).items()}
    return {key: cpu for key, (_, _, cpu, _) in in_rounds(jobs, repeat).items()}


def signed_over_unsigned(times: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """``{(signed null, kind): signed time / unsigned time}`` for the :data:`PAIRS` timed both ways."""
    return {(s, kind): times[(s, kind)] / max(times[(u, kind)], 1e-9)
            for s, u in PAIRS for kind in ("pilot", "needed") if (s, kind) in times and (u, kind) in times}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_graph_arguments(ap)
    ap.add_argument("--null", action="append", choices=[n[0] for n in NULLS], help="nulls to measure (repeatable; default: all but the shuffled-sign one)")
    ap.add_argument("--series", type=int, default=200_000, help="counts recorded per chain, one every 1 x E")
    ap.add_argument("--samples", type=int, default=1000, help="samples the replayed pilots plan for (their extension rule depends on it)")
    ap.add_argument("--max-lag", type=int, default=300, help="longest lag (x E) of the autocorrelation curve")
    ap.add_argument("--timed", action="store_true", help="also time each null at its pilot's and at its needed thinning, and print signed/unsigned both ways")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of --timed (its times are their medians)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    wanted = args.null or [n[0] for n in NULLS if n[3] != "shuffle"]
    graphs = bench_graphs(args)
    rows = []
    print(f"{'graph':<34} {'E':>5} {'null':<26} {'tau':>5} {'needed':>6} {'chosen p10/med/p90':>19} {'acf at choice med/p90/max':>26} {'pilots':>6}")
    su_ratios: dict[tuple[str, str], list[tuple[float, str]]] = {}
    for name, g, n_layers in graphs:
        edges = EdgeSet.from_igraph(g, n_layers)
        mine = []
        for label, model, signed, mode in NULLS:
            if label not in wanted:
                continue
            r = measure(name, edges, label, model, signed, mode, args)
            mine.append(r)
            need = "> max" if r["needed_thin"] is None else str(r["needed_thin"])
            print(f"{name[-34:]:<34} {r['n_edges']:>5} {label:<26} {r['tau_int']:>5.1f} {need:>6} "
                  f"{r['chosen_p10']:>6.1f} {r['chosen_median']:>5.1f} {r['chosen_p90']:>6.1f} "
                  f"{r['acf_at_choice_median']:>8.3f} {r['acf_at_choice_p90']:>6.3f} {r['acf_at_choice_max']:>6.3f} {r['pilots']:>8}", flush=True)
        if args.timed:
            times = timed_at_both_thinnings(edges, mine, args.samples, args.seed, args.repeat)
            for r in mine:
                r["cpu_s_at_pilot_thin"], r["cpu_s_at_needed_thin"] = times.get((r["null"], "pilot")), times.get((r["null"], "needed"))
            so = signed_over_unsigned(times)
            for (s, kind), v in so.items():
                su_ratios.setdefault((s, kind), []).append((v, name))
                next(r for r in mine if r["null"] == s)[f"signed_over_unsigned_at_{kind}_thin"] = v
            print("    signed/unsigned time, " + "; ".join(f"{s}: {v:.2f}x at the pilot's thinning, {so.get((s, 'needed'), math.nan):.2f}x at the needed one"
                                                       for (s, kind), v in so.items() if kind == "pilot"), flush=True)
        rows += mine
    ratios = [r["chosen_median"] / r["needed_thin"] for r in rows if r["needed_thin"] and r["pilots"]]
    if ratios:
        print(f"chosen (median) / needed thinning: {min(ratios):.2f}-{max(ratios):.2f} over {len(ratios)} chains; "
              f"true autocorrelation at the choice, median over chains {np.median([r['acf_at_choice_median'] for r in rows if r['pilots']]):.3f} (target {ChainSchedule().target_acf:g})")
    for (s, kind), vals in su_ratios.items():
        worst = max(vals)
        print(f"signed/unsigned time ({s}, at {KIND_TEXT[kind]}): above 2 on {sum(v > 2 for v, _ in vals)} of {len(vals)} graphs, "
              f"median {np.median([v for v, _ in vals]):.2f}, worst {worst[0]:.2f} ({worst[1]})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
