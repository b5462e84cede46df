"""CLI: ``python -m r1interp.costplan [--configfile extra.yaml ...] [--out-json plan.json --out-md plan.md]``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from r1interp.artifacts.write import write_text
from r1interp.config import load_config
from r1interp.core.costplan import build_plan, plan_markdown


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m r1interp.costplan", description="Cost plan of a run from its configuration.")
    ap.add_argument("--config", default="config.yaml", help="base configuration (config.yaml)")
    ap.add_argument("--configfile", nargs="*", default=[], help="merged over --config, as snakemake --configfile does")
    ap.add_argument("--config-json", default=None, help="the whole merged configuration as JSON (the workflow passes this)")
    ap.add_argument("--throughput", default=None, help="measured throughput JSON (bench/bench_costplan.py)")
    ap.add_argument("--results", default="results", help="results dir (measured label cost: results/{model}/autointerp/cost.json)")
    ap.add_argument("--out-json", type=Path, default=None)
    ap.add_argument("--out-md", type=Path, default=None)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = json.loads(args.config_json) if args.config_json else load_config(args.config, *args.configfile)
    plan = build_plan(config, args.throughput, Path(args.results))
    md = plan_markdown(plan)
    print(md)
    for path, text in ((args.out_json, json.dumps(plan.to_dict(), indent=2)), (args.out_md, md)):
        if path is not None:
            write_text(text, path)


if __name__ == "__main__":
    main()
