"""CLI: ``r1interp doctor [--configfile real.yaml] [--profile gpu]``: one table, exit 1 when blocked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="r1interp doctor", description="What will and will not work for the configured run.")
    ap.add_argument("--config", default="config.yaml", help="base config (default: config.yaml)")
    ap.add_argument("--configfile", action="append", default=[], help="merged over the base config, as with snakemake")
    ap.add_argument("--results", default="results")
    ap.add_argument("--profile", choices=["default", "gpu", "gpu-local"], default="default",
                    help="the profile you will run with (gpu: SLURM is required)")
    args = ap.parse_args(argv)
    from r1interp.config import load_config
    from r1interp.doctor.checks import FAIL, render, run_checks

    config = load_config(args.config, *args.configfile)
    root = Path(args.config).resolve().parent
    rows = run_checks(config, root=root, results=Path(args.results), profile_gpu=args.profile == "gpu")
    print(render(rows))
    return 1 if any(r.status == FAIL for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
