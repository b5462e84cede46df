"""CLI: ``r1interp autointerp {label,db,cost} ...`` (called by rules/autointerp.smk).

The API key is read from the environment variable ``ANTHROPIC_API_KEY`` only (never from
arguments or config, which end up in logs and Snakemake metadata). Without it no request is made.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from r1interp.artifacts.features import FeatureTableError, check_table
from r1interp.utils import setup_logging

from .client import FatalAPIError
from .config import AutointerpConfig
from .inputs import EXAMPLE_COLUMNS, STATS_COLUMNS

log = logging.getLogger("r1interp.autointerp")

QUIET_LOGGERS = ("anthropic", "httpx", "httpx2", "httpcore")


class UsageError(Exception):
    """Bad arguments, config or input files: reported in one line, exit code 2."""


def _config(args: argparse.Namespace) -> AutointerpConfig:
    if args.params and args.params_file:
        raise ValueError("give --params or --params-file, not both")
    cfg = AutointerpConfig.from_json(text=args.params, path=args.params_file)
    if getattr(args, "base_url", None):
        cfg.base_url = args.base_url
    return cfg


def _same_length(**lists: list) -> None:
    n = {k: len(v) for k, v in lists.items()}
    if len(set(n.values())) != 1:
        raise ValueError(f"these options need one value per layer: {n}")


def cmd_label(args: argparse.Namespace) -> int:
    from .pipeline import LayerInput, label_model

    api_key = (os.environ.get("ANTHROPIC_API_KEY") or "").strip() or None
    try:
        cfg = _config(args)
        _same_length(layers=args.layers, stats=args.stats, examples=args.examples, out_json=args.out_json)
        for p in args.stats:
            check_table(p, STATS_COLUMNS)
        for p in args.examples:
            check_table(p, EXAMPLE_COLUMNS)
        if api_key:
            cfg.price()  # fail now, not after spending, if the cap cannot be enforced
    except (ValueError, FeatureTableError) as e:
        raise UsageError(str(e)) from None
    if api_key:
        log.info("labeling with %s (prompt %s), spend cap $%.2f", cfg.llm_model, cfg.prompt_version, cfg.spend_cap_usd)
    else:
        log.warning("ANTHROPIC_API_KEY is not set: no request is made; features get automatic summaries")
    inputs = [
        LayerInput(int(layer), Path(s), Path(e), Path(o))
        for layer, s, e, o in zip(args.layers, args.stats, args.examples, args.out_json)
    ]
    label_model(args.model, inputs, cfg, args.journal, api_key)
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    from .db import build_db

    try:
        cfg = _config(args)
        _same_length(layers=args.layers, labels_json=args.labels_json, examples=args.examples)
        for p in args.examples:
            check_table(p, EXAMPLE_COLUMNS)
        for p in args.labels_json:
            if not Path(p).is_file():
                raise ValueError(f"{p}: labels JSON not found")
    except (ValueError, FeatureTableError) as e:
        raise UsageError(str(e)) from None
    build_db(
        args.out,
        args.model,
        [int(x) for x in args.layers],
        args.labels_json,
        args.examples,
        all_features=args.all_features or cfg.db_all_features,
    )
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from r1interp.artifacts.write import write_json

    from .cost import cost_summary

    try:
        cfg = _config(args)
        cfg.price()
        for p in args.labels_json:
            if not Path(p).is_file():
                raise ValueError(f"{p}: labels JSON not found")
    except ValueError as e:
        raise UsageError(str(e)) from None
    summary = cost_summary(args.journal, args.model, args.labels_json, cfg)
    write_json(summary, args.out, indent=1)
    log.info(
        "%s: %d features labelled, %d paid calls, $%.4f (%s per feature)",
        args.out, summary["features_labelled"], summary["calls"]["paid"], summary["dollars"],
        "n/a" if summary["dollars_per_feature"] is None else f"${summary['dollars_per_feature']:.5f}",
    )
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="r1interp autointerp", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--model", required=True, help="registry key of the analysed model")
        sp.add_argument("--layers", required=True, nargs="+", type=int)
        sp.add_argument("--examples", required=True, nargs="+", help="L{layer}.examples.parquet, one per layer")
        sp.add_argument("--params", default=None, help="the autointerp config section as JSON")
        sp.add_argument("--params-file", default=None, help="a JSON file with the autointerp config section")
        sp.add_argument("-v", "--verbose", action="store_true")

    lab = sub.add_parser("label", help="label the selected features of one or more layers")
    common(lab)
    lab.add_argument("--stats", required=True, nargs="+", help="L{layer}.stats.parquet, one per layer")
    lab.add_argument("--out-json", required=True, nargs="+", help="labels/L{layer}.json, one per layer")
    lab.add_argument("--journal", required=True, help="SQLite journal of paid calls (shared per model)")
    lab.add_argument("--base-url", default=None, help="override the Messages API base URL")
    lab.set_defaults(func=cmd_label)

    db = sub.add_parser("db", help="build labels.sqlite from the per-layer JSON and examples tables")
    common(db)
    db.add_argument("--labels-json", required=True, nargs="+")
    db.add_argument("--out", required=True, help="results/{model}/labels.sqlite")
    db.add_argument("--all-features", action="store_true", help="store activations of every feature")
    db.set_defaults(func=cmd_db)

    cost = sub.add_parser("cost", help="measured label cost of one model from its journal → cost.json")
    cost.add_argument("--model", required=True, help="registry key of the analysed model")
    cost.add_argument("--journal", required=True, help="the model's journal.sqlite (missing: no paid calls)")
    cost.add_argument("--labels-json", required=True, nargs="+", help="labels/L{layer}.json, one per layer")
    cost.add_argument("--out", required=True, help="results/{model}/autointerp/cost.json")
    cost.add_argument("--params", default=None, help="the autointerp config section as JSON")
    cost.add_argument("--params-file", default=None, help="a JSON file with the autointerp config section")
    cost.add_argument("-v", "--verbose", action="store_true")
    cost.set_defaults(func=cmd_cost)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    setup_logging(verbose=args.verbose, quiet=QUIET_LOGGERS)  # SDK debug logs would echo request options
    try:
        return args.func(args)
    except UsageError as e:
        log.error("%s", e)
        return 2
    except FatalAPIError as e:
        log.error("%s", e)
        return 3


if __name__ == "__main__":
    sys.exit(main())
