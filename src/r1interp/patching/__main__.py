"""CLI: ``r1interp patching run --model-path P --generations G --out-dir D [...]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from r1interp.artifacts.generations import load_traces

from r1interp.patching.effects import POSITION_SETS
from r1interp.patching.pairs import PairConfig
from r1interp.patching.run import PatchingConfig, run_patching, write_patching
from r1interp.utils import cli_bool, cli_int_at_least, setup_logging

log = logging.getLogger("r1interp.patching")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="r1interp patching", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="build validated clean/corrupted pairs and patch the residual layer by layer")
    r.add_argument("--model-path", required=True, help="HF model dir or id")
    r.add_argument("--model-name", default=None)
    r.add_argument("--generations", required=True, type=Path, help="results/{model}/generations.parquet")
    r.add_argument("--out-dir", required=True, type=Path, help="results/{model}/patching")
    r.add_argument("--device", default="auto")
    r.add_argument("--dtype", default="auto")
    d, dp = PatchingConfig(), PairConfig()
    r.add_argument("--max-pairs", type=cli_int_at_least(0), default=d.max_pairs)
    r.add_argument("--only-correct", type=cli_bool, default=d.only_correct, help="true|false")
    r.add_argument("--position-sets", nargs="+", choices=POSITION_SETS, default=list(d.position_sets))
    r.add_argument("--n-reasoning-tokens", type=cli_int_at_least(1), default=d.n_reasoning_tokens)
    r.add_argument("--batch-size", type=cli_int_at_least(1), default=d.batch_size)
    r.add_argument("--max-len", type=cli_int_at_least(2), default=dp.max_len)
    r.add_argument("--max-edits", type=cli_int_at_least(1), default=dp.max_edits)
    r.add_argument("--values-per-number", type=cli_int_at_least(1), default=dp.values_per_number)
    r.add_argument("--allow-length-change", type=cli_bool, default=dp.allow_length_change)
    r.add_argument("-v", "--verbose", action="store_true")
    return p


def cmd_run(args: argparse.Namespace) -> None:
    from r1interp.models import load_model, model_shape

    cfg = PatchingConfig(
        pairs=PairConfig(
            max_len=args.max_len,
            max_edits=args.max_edits,
            values_per_number=args.values_per_number,
            allow_length_change=args.allow_length_change,
        ),
        max_pairs=args.max_pairs,
        only_correct=args.only_correct,
        position_sets=tuple(args.position_sets),
        n_reasoning_tokens=args.n_reasoning_tokens,
        batch_size=args.batch_size,
    )
    traces = load_traces(args.generations, only_correct=cfg.only_correct)  # validate before the model loads
    shape = model_shape(args.model_path)
    log.info("%d traces from %s; model %s (%d layers)", len(traces), args.generations, args.model_path, shape.n_layers)
    model, tokenizer = load_model(args.model_path, device=args.device, dtype=args.dtype)
    result = run_patching(model, tokenizer, traces, cfg)
    n_kept = int((result.pairs["status"] == "kept").sum())
    log.info("kept %d of %d candidate pairs", n_kept, len(result.pairs))
    if n_kept == 0:
        log.warning("no pair changed the model's answer: effects table is empty")
    write_patching(result, args.out_dir, cfg, args.model_name or str(args.model_path), shape.n_layers)
    log.info("wrote %s", args.out_dir)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        if args.command == "run":
            cmd_run(args)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
