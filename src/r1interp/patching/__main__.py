"""CLI: ``r1interp patching run --model-path P --generations G --out-dir D [...]``."""

from __future__ import annotations

import argparse
import logging
import sys

from r1interp.artifacts.generations import load_traces

from r1interp.patching.effects import POSITION_SETS
from r1interp.patching.pairs import PairConfig
from r1interp.patching.run import PatchingConfig, run_patching, write_patching
from r1interp.cliargs import add_dataclass_args, from_args, stage_parser, trace_command
from r1interp.utils import run_command

log = logging.getLogger("r1interp.patching")


def build_parser() -> argparse.ArgumentParser:
    p, sub = stage_parser("patching", __doc__)
    r = trace_command(sub, "run", "build validated clean/corrupted pairs and patch the residual layer by layer")
    add_dataclass_args(r, PatchingConfig, skip=("pairs", "position_sets"), group="patching settings (config heads.patching:)")
    r.add_argument("--position-sets", nargs="+", choices=POSITION_SETS, default=list(PatchingConfig.position_sets),
                   help=f"position sets patched (default: {' '.join(PatchingConfig.position_sets)})")
    add_dataclass_args(r, PairConfig, group="pair construction (config heads.patching:)")
    return p


def cmd_run(args: argparse.Namespace) -> None:
    from r1interp.models import load_model, model_shape

    cfg = from_args(PatchingConfig, args, pairs=from_args(PairConfig, args))
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
    return run_command(build_parser().parse_args(argv), {"run": cmd_run}, log)


if __name__ == "__main__":
    sys.exit(main())
