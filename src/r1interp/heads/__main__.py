"""CLI: ``r1interp heads heads --model-path P --generations G --out-dir D [...]``."""

from __future__ import annotations

import argparse
import logging
import sys

from r1interp.artifacts.generations import load_traces

from r1interp.heads.run import HeadsConfig, compute_heads, write_heads
from r1interp.cliargs import add_dataclass_args, from_args, stage_parser, trace_command
from r1interp.utils import run_command

log = logging.getLogger("r1interp.heads")


def build_parser() -> argparse.ArgumentParser:
    p, sub = stage_parser("heads", __doc__)
    h = trace_command(sub, "heads", "answer→reasoning attention per (layer, head) over generated traces")
    add_dataclass_args(h, HeadsConfig, group="heads settings (config heads.heads:)")
    return p


def cmd_heads(args: argparse.Namespace) -> None:
    from r1interp.models import load_model, model_shape

    cfg = from_args(HeadsConfig, args)
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
    return run_command(build_parser().parse_args(argv), {"heads": cmd_heads}, log)


if __name__ == "__main__":
    sys.exit(main())
