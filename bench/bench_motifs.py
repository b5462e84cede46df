"""Benchmark: triad Z-scores against 1000 configuration nulls — ours vs the circuit-motifs way.

The circuit-motifs way (its ``generate_configuration_null``): per null sample, copy the igraph
graph, ``rewire(n = 10 * edges)`` (degree-preserving, simple) and run ``motifs_randesu(size=3)``.
Ours: :class:`r1interp.motifs.nulls.NullModel` (batched stub matching + the closed-form census).

Both run side by side in one process on the same random layered attribution graph (circuit-tracer
JSON schema, a few thousand edges). Printed: the census check (ours == ``motifs_randesu`` on the
real graph), per-class null mean / std / Z of both with the Monte-Carlo standard error of the Z
difference, wall and CPU seconds, and the speed ratio. The baseline can run fewer samples
(``--baseline-samples``, default 200); its time is then extrapolated linearly to ``--samples``
(its per-sample cost is constant: every sample is an independent rewire + census), and its Z
uses its own sample count in the noise estimate. ``--baseline-samples 1000`` runs it in full.

    python bench/bench_motifs.py                       # ~1 min on 2 busy cores
    python bench/bench_motifs.py --baseline-samples 1000 --json bench/motifs.json

Exit status 1 if the census differs or a Z differs by more than ``--z-tol`` standard errors;
``--min-ratio`` (default 0: report only) makes a slower-than-target run fail too.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from r1interp.motifs import labels as L
from r1interp.motifs.census import census_edges, census_igraph
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.loader import parse_attribution_graph
from r1interp.motifs.nulls import NullModel
from r1interp.motifs.stats import zscores
from r1interp.motifs.synthetic import random_attribution_graph


class Clock:
    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def ours(edges: EdgeSet, n: int, seed: int):
    real = census_edges(edges)
    nm = NullModel(edges, "configuration")
    null = np.concatenate([b.triad_census() for b in nm.batches(n, np.random.default_rng(seed))])
    return real, null


def circuit_motifs_way(g, n: int, rewire_factor: int):
    real = census_igraph(g)
    rows = []
    for _ in range(n):
        h = g.copy()
        h.rewire(n=max(g.ecount() * rewire_factor, 1))
        rows.append(census_igraph(h))
    return real, np.array(rows)


def z_se(z: np.ndarray, n: int) -> np.ndarray:
    """Monte-Carlo standard error of an estimated Z from ``n`` samples (normal-theory delta method)."""
    zf = np.where(np.isfinite(z), z, 0.0)
    return np.sqrt((1 + zf**2 / 2) / n)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=1000, help="null samples of our pipeline (circuit-motifs' default)")
    ap.add_argument("--baseline-samples", type=int, default=200, help="samples actually run the circuit-motifs way (time extrapolated to --samples)")
    ap.add_argument("--edges", type=int, default=3000)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--features-per-layer", type=int, default=40)
    ap.add_argument("--rewire-factor", type=int, default=10, help="circuit-motifs: rewire(n = factor * edges)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--z-tol", type=float, default=4.0, help="allowed |Z_ours - Z_base| in combined standard errors")
    ap.add_argument("--min-ratio", type=float, default=0.0, help="fail if the CPU-time speed-up is below this")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)

    data = random_attribution_graph(n_layers=args.layers, n_pos=16, features_per_layer=args.features_per_layer, n_edges=args.edges, seed=args.seed, error_nodes=False)
    g = parse_attribution_graph(data)
    edges = EdgeSet.from_igraph(g, args.layers)
    print(f"graph: {g.vcount()} nodes, {g.ecount()} edges (random layered DAG, circuit-tracer schema)")

    with Clock() as t_ours:
        real_o, null_o = ours(edges, args.samples, args.seed + 1)
    with Clock() as t_base:
        real_b, null_b = circuit_motifs_way(g, args.baseline_samples, args.rewire_factor)
    scale = args.samples / args.baseline_samples
    base_wall, base_cpu = t_base.wall * scale, t_base.cpu * scale

    census_ok = bool(np.array_equal(real_o, real_b))
    z_o, m_o, s_o = zscores(real_o, null_o)
    z_b, m_b, s_b = zscores(real_b, null_b)
    se = np.sqrt(z_se(z_o, args.samples) ** 2 + z_se(z_b, args.baseline_samples) ** 2)
    rows, z_ok = [], True
    print(f"\n{'class':>5} {'real':>7} | {'ours mean':>10} {'std':>8} {'Z':>8} | {'base mean':>10} {'std':>8} {'Z':>8} | {'dZ/se':>6}")
    for i in L.CONNECTED:
        both = s_o[i] > 0 and s_b[i] > 0
        if both:
            dz = abs(z_o[i] - z_b[i]) / se[i]
            ok = dz <= args.z_tol
        elif s_o[i] == 0 and s_b[i] == 0:
            dz, ok = (0.0 if z_o[i] == z_b[i] else math.inf), bool(z_o[i] == z_b[i])
        else:  # a class so rare that one ensemble never saw it: compare the null means instead
            sem = math.sqrt(null_o[:, i].var() / args.samples + null_b[:, i].var() / args.baseline_samples) or 1.0 / args.baseline_samples
            dz = abs(m_o[i] - m_b[i]) / sem
            ok = dz <= args.z_tol or abs(m_o[i] - m_b[i]) <= 3.0 / args.baseline_samples
        z_ok &= bool(ok)
        rows.append({"class": L.TRIAD_LABELS[i], "real": int(real_o[i]), "ours_mean": m_o[i], "ours_std": s_o[i], "ours_z": z_o[i], "base_mean": m_b[i], "base_std": s_b[i], "base_z": z_b[i], "dz_over_se": dz, "ok": bool(ok)})
        print(f"{L.TRIAD_LABELS[i]:>5} {real_o[i]:>7d} | {m_o[i]:>10.2f} {s_o[i]:>8.2f} {z_o[i]:>8.2f} | {m_b[i]:>10.2f} {s_b[i]:>8.2f} {z_b[i]:>8.2f} | {dz:>6.2f}{'' if ok else '  <-- differs'}")

    ratio_wall, ratio_cpu = base_wall / t_ours.wall, base_cpu / t_ours.cpu
    print(f"\ncensus of the real graph identical to motifs_randesu: {census_ok}")
    print(f"Z-scores equal within Monte-Carlo noise (|dZ| <= {args.z_tol} se): {z_ok}")
    print(f"ours:            {args.samples} samples  wall {t_ours.wall:7.2f} s  cpu {t_ours.cpu:7.2f} s  ({1e3 * t_ours.cpu / args.samples:.2f} ms cpu/sample)")
    print(f"circuit-motifs:  {args.baseline_samples} samples  wall {t_base.wall:7.2f} s  cpu {t_base.cpu:7.2f} s  ({1e3 * t_base.cpu / args.baseline_samples:.2f} ms cpu/sample)")
    if scale != 1:
        print(f"                 extrapolated to {args.samples}: wall {base_wall:7.2f} s  cpu {base_cpu:7.2f} s")
    print(f"speed-up: {ratio_cpu:.1f}x (cpu time), {ratio_wall:.1f}x (wall time)   target >= 20x")
    result = {"n_nodes": g.vcount(), "n_edges": g.ecount(), "samples": args.samples, "baseline_samples": args.baseline_samples,
              "ours_wall_s": t_ours.wall, "ours_cpu_s": t_ours.cpu, "baseline_wall_s": t_base.wall, "baseline_cpu_s": t_base.cpu,
              "baseline_wall_s_extrapolated": base_wall, "baseline_cpu_s_extrapolated": base_cpu,
              "speedup_cpu": ratio_cpu, "speedup_wall": ratio_wall, "census_identical": census_ok, "z_within_noise": z_ok,
              "classes": [{k: (float(v) if isinstance(v, (float, np.floating)) and math.isfinite(v) else v if not isinstance(v, (float, np.floating)) else str(v)) for k, v in r.items()} for r in rows]}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    fail = not census_ok or not z_ok or ratio_cpu < args.min_ratio
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
