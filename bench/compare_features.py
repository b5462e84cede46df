"""Check: the features stage's outputs before and after a change of its code, on the toy model.

Runs the same collection (same model, shard, transcoders and config) once with the checked-out
``src/`` and once with the ``src/`` of ``--before`` (a git revision, exported to a temp dir), each
in its own process, then compares every ``L*.stats.parquet``, ``L*.examples.parquet`` and
``summary.json`` cell by cell. Differences in the examples are classified: *tie-only* when, for a
(feature, kind, quantile bin), both versions hold the same multiset of anchor activations and
differ only in which of several equal-valued windows was kept (the buffers' tie rule), else *real*.
Exit status 1 when any real difference is found.

``python bench/compare_features.py --before 4f4233b [--model toy-reasoner] [--random]``
Transcoders: the workflow's for the model when trained, else random ones (``--expansion``, ``--k``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"seconds", "tokens_per_second"}


def export_src(rev: str, dest: Path) -> Path:
    """``src/`` of git revision ``rev`` under ``dest``."""
    archive = subprocess.run(["git", "archive", rev, "src"], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest / "src"


def run_worker(src: Path, out: Path, args: argparse.Namespace) -> None:
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": str(args.threads)}
    cmd = [sys.executable, __file__, "--worker", str(out), "--model", args.model, "--split", args.split,
           "--expansion", str(args.expansion), "--k", str(args.k), "--threads", str(args.threads)]
    if args.random:
        cmd.append("--random")
    subprocess.run(cmd, env=env, check=True)


def worker(args: argparse.Namespace) -> None:
    """Collect with whatever ``r1interp`` is on PYTHONPATH (the bench's input loader)."""
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT / "bench"))
    import bench_features

    from r1interp.features import FeatureConfig
    from r1interp.features.io import collect_to_dir

    import r1interp

    ns = argparse.Namespace(model=args.model, split=args.split, device="cpu", random=args.random,
                            expansion=args.expansion, k=args.k)
    model, tok, tcs, corpus, sources = bench_features.load_inputs(ns)
    print(f"[{Path(r1interp.__file__).parents[1]}] {sources}", flush=True)
    collect_to_dir(model, tok, tcs, corpus, FeatureConfig(), args.worker, progress=False)


def compare_examples(a, b) -> tuple[int, int]:
    """``(tie-only groups, real groups, tie-only groups per kind)`` among (feature, kind, quantile_bin) groups that differ."""
    keys = ["feature_id", "kind", "quantile_bin"]
    ga, gb = a.groupby(keys, sort=True), b.groupby(keys, sort=True)
    if set(ga.groups) != set(gb.groups):
        return 0, len(set(ga.groups) ^ set(gb.groups)), {}
    ties = real = 0
    kinds: dict[str, int] = {}
    cols = [c for c in a.columns if c not in keys]
    for key, rows_a in ga:
        rows_b = gb.get_group(key)
        if len(rows_a) == len(rows_b) and all(_same(rows_a[c], rows_b[c]) for c in cols):
            continue
        if key[1] == "negative":  # drawn from the shared pool: no activation to tie on
            real += 1
        elif len(rows_a) == len(rows_b) and sorted(rows_a["act_max"]) == sorted(rows_b["act_max"]):
            ties += 1
            kinds[key[1]] = kinds.get(key[1], 0) + 1
        else:
            real += 1
    return ties, real, kinds


def _same(x, y) -> bool:
    return [_plain(v) for v in x] == [_plain(v) for v in y]


def _plain(v):
    v = v.tolist() if hasattr(v, "tolist") else v
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return "nan" if isinstance(v, float) and v != v else v  # NaN (no tokens of a segment) equals NaN


def compare_dirs(before: Path, after: Path) -> bool:
    import pandas as pd

    ok = True
    for path in sorted(before.glob("L*.parquet")):
        a, b = pd.read_parquet(path), pd.read_parquet(after / path.name)
        if list(a.columns) == list(b.columns) and len(a) == len(b) and all(_same(a[c], b[c]) for c in a.columns):
            print(f"{path.name}: identical ({len(a)} rows)")
            continue
        if path.name.endswith(".examples.parquet"):
            ties, real, kinds = compare_examples(a, b)
            n_groups = len(a.groupby(["feature_id", "kind", "quantile_bin"]))
            print(f"{path.name}: {len(a)} vs {len(b)} rows; of {n_groups} (feature, kind, bin) groups "
                  f"{ties} differ by tie-breaking only {kinds}, {real} really")
            ok &= real == 0
        else:
            diff = [c for c in a.columns if c not in b.columns or not _same(a[c], b[c])]
            print(f"{path.name}: DIFFERENT columns {diff}")
            ok = False
    sa, sb = (json.loads((d / "summary.json").read_text()) for d in (before, after))
    same = {k: v for k, v in sa.items() if k not in VOLATILE} == {k: v for k, v in sb.items() if k not in VOLATILE}
    print(f"summary.json: {'identical' if same else 'DIFFERENT'} (apart from timings: "
          f"{sa['seconds']} s before, {sb['seconds']} s after)")
    return ok and same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", default="HEAD", help="git revision whose src/ is the reference")
    ap.add_argument("--model", default="toy-reasoner")
    ap.add_argument("--split", default="eval")
    ap.add_argument("--random", action="store_true", help="random toy-shaped model, transcoders and tokens")
    ap.add_argument("--expansion", type=int, default=16)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return
    with tempfile.TemporaryDirectory(prefix="compare_features_") as tmp:
        tmp = Path(tmp)
        old_src = export_src(args.before, tmp)
        run_worker(old_src, tmp / "before", args)
        run_worker(ROOT / "src", tmp / "after", args)
        ok = compare_dirs(tmp / "before", tmp / "after")
    print("RESULT:", "same outputs (up to documented tie-breaking)" if ok else "REAL DIFFERENCES")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
