"""CLI: ``r1interp heads heads --model-path P --generations G --out-dir D [...]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from r1interp.artifacts.generations import load_traces

from r1interp.heads.run import HeadsConfig, compute_heads, write_heads
from r1interp.utils import cli_bool, cli_int_at_least, setup_logging

log = logging.getLogger("r1interp.heads")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="r1interp heads", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    h = sub.add_parser("heads", help="answer→reasoning attention per (layer, head) over generated traces")
    h.add_argument("--model-path", required=True, help="HF model dir or id")
    h.add_argument("--model-name", default=None, help="name used in titles/JSON (default: model path)")
    h.add_argument("--generations", required=True, type=Path, help="results/{model}/generations.parquet")
    h.add_argument("--out-dir", required=True, type=Path, help="results/{model}/heads")
    h.add_argument("--device", default="auto")
    h.add_argument("--dtype", default="auto")
    h.add_argument("--max-len", type=cli_int_at_least(2), default=HeadsConfig.max_len)
    h.add_argument("--max-traces", type=cli_int_at_least(0), default=HeadsConfig.max_traces)
    h.add_argument("--only-correct", type=cli_bool, default=HeadsConfig.only_correct, help="true|false")
    h.add_argument("--top-k", type=cli_int_at_least(1), default=HeadsConfig.top_k)
    h.add_argument("-v", "--verbose", action="store_true")
    return p


def cmd_heads(args: argparse.Namespace) -> None:
    from r1interp.models import load_model, model_shape

    cfg = HeadsConfig(max_len=args.max_len, max_traces=args.max_traces, only_correct=args.only_correct, top_k=args.top_k)
    traces = load_traces(args.generations, only_correct=cfg.only_correct)  # validates before loading the model
    shape = model_shape(args.model_path)
    log.info("%d traces from %s; model %s (%d layers × %d heads)", len(traces), args.generations, args.model_path, shape.n_layers, shape.n_heads)
    model, _ = load_model(args.model_path, device=args.device, dtype=args.dtype)
    result = compute_heads(model, traces, cfg)
    if result.table.empty:
        log.warning("no usable traces in %s: writing empty outputs", args.generations)
    write_heads(result, args.out_dir, args.model_name or str(args.model_path), cfg)
    log.info("wrote %s", args.out_dir)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        if args.command == "heads":
            cmd_heads(args)
    except (ValueError, OSError) as err:
        log.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
