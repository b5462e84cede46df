"""CLI: ``r1interp costplan plan [--configfile extra.yaml ...] [--out-json plan.json --out-md plan.md]``
(``plan`` may be left out: it is the stage's only command)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from r1interp.artifacts.write import write_text
from r1interp.config import load_config
from r1interp.core.costplan import build_plan, plan_markdown
from r1interp.utils import setup_logging


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "plan" and argv[0] not in ("-h", "--help"):
        argv = ["plan", *argv]  # the only command
    top = argparse.ArgumentParser(prog="r1interp costplan", description="Cost plan of a run from its configuration.")
    ap = top.add_subparsers(dest="command", required=True).add_parser("plan", help="tokens, FLOPs, GPU-hours and dollars per stage")
    ap.add_argument("--config", default="config.yaml", help="base configuration (config.yaml)")
    ap.add_argument("--configfile", nargs="*", default=[], help="merged over --config, as snakemake --configfile does")
    ap.add_argument("--config-json", default=None, help="the whole merged configuration as JSON (the workflow passes this)")
    ap.add_argument("--throughput", default=None, help="measured throughput JSON (bench/bench_costplan.py)")
    ap.add_argument("--results", default="results", help="results dir (measured label cost: results/{model}/autointerp/cost.json)")
    ap.add_argument("--out-json", type=Path, default=None)
    ap.add_argument("--out-md", type=Path, default=None)
    args = top.parse_args(argv)
    setup_logging("WARNING")
    config = json.loads(args.config_json) if args.config_json else load_config(args.config, *args.configfile)
    plan = build_plan(config, args.throughput, Path(args.results))
    md = plan_markdown(plan)
    print(md)
    for path, text in ((args.out_json, json.dumps(plan.to_dict(), indent=2)), (args.out_md, md)):
        if path is not None:
            write_text(text, path)


if __name__ == "__main__":
    main()
