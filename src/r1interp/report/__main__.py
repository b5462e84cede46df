"""CLI: ``r1interp report build --results results --models A B --out results/report.html``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from r1interp.utils import setup_logging


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp report")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="assemble the self-contained HTML report")
    b.add_argument("--results", default="results")
    b.add_argument("--models", nargs="+", required=True)
    b.add_argument("--pairs", default="[]", help="JSON list of {reasoner, base}")
    b.add_argument("--title", default="r1interp report")
    b.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    setup_logging()

    from r1interp.report.build import ReportInputs, build_report

    results = Path(args.results)
    if not results.is_dir():
        raise SystemExit(f"--results: directory not found: {results}")
    build_report(ReportInputs(results, args.models, json.loads(args.pairs)), Path(args.out), args.title)


if __name__ == "__main__":
    main()
