"""CLI of the motif stage.

``r1interp motifs profile --index results/{model}/graphs/index.parquet
--graphs-dir results/{model}/graphs --model {model} --out-dir results/{model}/motifs
--params '<motifs config JSON>' --seed 0 [--n-layers N] [--threads T]``
    → ``profiles.parquet``, ``ffl_instances.parquet``, ``graphs.parquet`` in ``--out-dir``
    (schemas: :mod:`r1interp.motifs.profile`).

``r1interp motifs profile-dir --graph-dir DIR --name NAME --out-dir DIR ...``
    the same for an external ``{category}/*.json`` directory (e.g. Anthropic's published graphs);
    ``model`` is ``NAME``, ``graph_id`` ``{category}/{stem}``, ``phase`` ``full``.

``r1interp motifs census GRAPH.json [--threshold-mode relative --threshold 0.0]``
    prints the 16-class triad census (standard labels) of one file as JSON.

``r1interp motifs warm``
    compiles the null-model chains into numba's on-disk cache (~2 min once per checkout), so that
    motif jobs sent to a cluster do not each compile them (:mod:`r1interp.motifs.warm`).

Inputs and the config are validated before any null model is drawn.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from r1interp.artifacts.write import write_parquet
from r1interp.motifs.config import MotifsConfig, MotifsConfigError
from r1interp.motifs.loader import GraphFormatError, Threshold
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.motifs")


def _params(text: str | None) -> MotifsConfig:
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError as e:
        raise SystemExit(f"--params: not valid JSON ({e})")
    if not isinstance(data, dict):
        raise SystemExit(f"--params: must be a JSON object, got {data!r}")
    try:
        return MotifsConfig.from_dict(data)
    except MotifsConfigError as e:
        raise SystemExit(f"--params: {e}")


def _work(job: tuple[str, dict[str, Any], MotifsConfig, int, int | None]):
    from r1interp.motifs.profile import analyse_file

    path, ids, cfg, seed, n_layers = job
    return analyse_file(path, ids, cfg, seed, n_layers)


def run_profiles(index: pd.DataFrame, files: list[Path], cfg: MotifsConfig, seed: int, n_layers: int | None, out_dir: Path, threads: int = 1) -> None:
    from r1interp.motifs.profile import ID_COLUMNS, PROFILE_COLUMNS

    jobs = []
    for (_, row), path in zip(index.iterrows(), files):
        ids = {c: (row[c] if c in row.index else None) for c in ID_COLUMNS}
        ids = {k: (None if (not isinstance(v, (list, tuple)) and pd.isna(v)) else v) for k, v in ids.items()}
        jobs.append((str(path), ids, cfg, seed, n_layers))
    results = []
    if threads > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=threads) as ex:
            results = list(tqdm(ex.map(_work, jobs), total=len(jobs), desc="motif profiles", unit="graph", file=sys.stderr))
    else:
        for job in tqdm(jobs, desc="motif profiles", unit="graph", file=sys.stderr):
            results.append(_work(job))
    profiles = pd.concat([r[0] for r in results], ignore_index=True) if results else pd.DataFrame(columns=PROFILE_COLUMNS)
    profiles = profiles.reindex(columns=PROFILE_COLUMNS)
    for col in ("correct", "needs_reasoning"):
        profiles[col] = profiles[col].astype("boolean")
    inst = pd.concat([r[1] for r in results if len(r[1])], ignore_index=True) if any(len(r[1]) for r in results) else pd.DataFrame()
    graphs = pd.DataFrame([r[2] for r in results])
    out_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(profiles, out_dir / "profiles.parquet")
    write_parquet(inst, out_dir / "ffl_instances.parquet")
    write_parquet(graphs, out_dir / "graphs.parquet")
    log.info("wrote %d profile rows for %d graphs to %s", len(profiles), len(graphs), out_dir)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp motifs", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out-dir", required=True, type=Path)
        p.add_argument("--params", default="{}", help="the motifs config section as JSON")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--n-layers", type=int, default=None, help="transformer layers (default: inferred per graph)")
        p.add_argument("--threads", type=int, default=1, help="graphs analysed in parallel processes")

    p = sub.add_parser("profile", help="motif profiles of one model's graphs (index.parquet)")
    p.add_argument("--index", required=True, type=Path)
    p.add_argument("--graphs-dir", required=True, type=Path)
    p.add_argument("--model", required=True)
    common(p)
    d = sub.add_parser("profile-dir", help="motif profiles of an external {category}/*.json directory")
    d.add_argument("--graph-dir", required=True, type=Path)
    d.add_argument("--name", required=True)
    common(d)
    c = sub.add_parser("census", help="print one graph's triad census")
    c.add_argument("graph", type=Path)
    c.add_argument("--threshold-mode", default="relative", choices=["absolute", "relative", "top_k"])
    c.add_argument("--threshold", type=float, default=0.0)
    c.add_argument("--include-errors", action="store_true")
    sub.add_parser("warm", help="compile the null-model chains into numba's cache (once per checkout)")
    args = ap.parse_args(argv)
    setup_logging()

    if args.cmd == "warm":
        from r1interp.motifs.warm import cache_is_warm, warm

        was = cache_is_warm()
        seconds = warm()
        log.info("null-model chains %s in %.1f s", "already compiled: loaded" if was else "compiled and cached", seconds)
        return

    if args.cmd == "census":
        from r1interp.artifacts import motif_labels as L
        from r1interp.motifs.census import triad_census
        from r1interp.motifs.loader import DEFAULT_EXCLUDE_TYPES, load_attribution_graph

        try:
            g = load_attribution_graph(args.graph, Threshold(args.threshold_mode, args.threshold), frozenset() if args.include_errors else DEFAULT_EXCLUDE_TYPES)
        except (GraphFormatError, ValueError) as e:
            raise SystemExit(str(e))
        counts = triad_census(g)
        print(json.dumps({L.TRIAD_LABELS[i]: int(counts[i]) for i in L.CONNECTED}, indent=2))
        return

    from r1interp.motifs.profile import category_index, graph_files, read_index

    cfg = _params(args.params)
    if args.threads < 1:
        raise SystemExit(f"--threads: must be >= 1, got {args.threads}")
    if args.n_layers is not None and args.n_layers < 1:
        raise SystemExit(f"--n-layers: must be >= 1, got {args.n_layers}")
    try:
        if args.cmd == "profile":
            index = read_index(args.index)
            index["model"] = args.model
            files = graph_files(index, args.graphs_dir)
        else:
            index, files = category_index(args.graph_dir, args.name)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(str(e))
    log.info("%d graphs; null %s x%d, signed %s", len(files), cfg.triad_null.model, cfg.triad_null.n_samples, cfg.signed.enabled)
    try:
        run_profiles(index, files, cfg, args.seed, args.n_layers, args.out_dir, args.threads)
    except GraphFormatError as e:
        raise SystemExit(str(e))


if __name__ == "__main__":
    main()
