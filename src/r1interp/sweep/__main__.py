"""CLI of the sweep stage (called by ``rules/sweep.smk``).

    r1interp sweep point  --model-dir D --train-shard P --layers auto \
        --validation-tokens 20000 --dead-tokens-factor 10 --max-expansion-per-k 2 --eval-tokens 10000 \
        --expansion-factor 8 --k 16 --lr none --skip-connection true [--train-tokens N ...] \
        --out results/sweep/points/e8_k16_lrauto_skip1.json --work-dir results/sweep/work/e8_k16_lrauto_skip1
    r1interp sweep select --points results/sweep/points/*.json --sweep-model M \
        --out-parquet results/sweep/results.parquet --out-png results/sweep/pareto.png \
        --out-yaml results/sweep/selected.yaml [--rule min_ce --ce-target 0.1 --dead-target 10 --ce-tolerance 0.005]
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

from r1interp.cliargs import ModelLoad, TrainInputs, add_dataclass_args, from_args, stage_parser
from r1interp.sweep.config import PointEval
from r1interp.sweep.pareto import SelectionRule
from r1interp.core.settings import TrainSettings
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.sweep")


def cmd_point(args) -> None:
    """Train and evaluate one grid point. Selection data: a slice held out of the train shard (the
    eval shard, on which the evaluate stage reports faithfulness, is never read here)."""
    import torch

    from r1interp.core.groups import parse_layers
    from r1interp.models import load_model, model_shape
    from r1interp.sweep.grid import pilot_layers, point_id
    from r1interp.sweep.holdout import holdout_tokens
    from r1interp.sweep.run import prepare_data, run_point, save_point

    if not args.train_shard.is_file():
        raise SystemExit(f"error: train shard not found: {args.train_shard}")
    settings = from_args(TrainSettings, args)
    ev = from_args(PointEval, args)
    shape = model_shape(args.model_dir)
    n_layers = shape.n_layers
    try:
        layers = pilot_layers(n_layers, "auto" if args.layers == "auto" else parse_layers(args.layers))
    except ValueError as e:
        raise SystemExit(f"error: --layers {args.layers!r}: {e}") from e
    point = {k: getattr(settings, k) for k in ("expansion_factor", "k", "lr", "skip_connection")}
    pid = point_id(point)
    log.info("sweep point %s on layers %s", pid, layers)
    max_ratio = ev.max_expansion_per_k or settings.expansion_factor / settings.k
    n_val = holdout_tokens(ev.validation_tokens, shape.d_model, max_ratio, ev.dead_tokens_factor, ev.eval_tokens)
    try:
        data = prepare_data(args.train_shard, settings, n_val, ev.eval_max_len)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from e
    log.info("selection slice: %d documents, %d tokens held out of %s (%d documents left for training)",
             data.meta["n_validation_docs"], data.meta["validation_tokens"], args.train_shard, data.meta["n_train_docs"])
    torch.manual_seed(settings.seed)
    model, _tok = load_model(args.model_dir, args.device, args.dtype)
    with contextlib.redirect_stdout(sys.stderr):
        record = run_point(model, pid, point, layers, data.dataset, data.validation, settings, args.work_dir,
                           ev.eval_batch_size, ce_tokens=ev.eval_tokens, dead_factor=ev.dead_tokens_factor)
    record["settings"] = asdict(settings)
    record["data"] = data.meta
    save_point(record, args.out)
    if not ev.keep_weights:
        shutil.rmtree(args.work_dir, ignore_errors=True)


def cmd_select(args) -> None:
    from r1interp.sweep.run import aggregate

    try:
        rule = from_args(SelectionRule, args)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from e
    aggregate(args.points, rule, args.out_parquet, args.out_png, args.out_yaml, args.sweep_model)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser, sub = stage_parser("sweep", __doc__)

    p = sub.add_parser("point", help="train + evaluate one grid point on the pilot layers")
    add_dataclass_args(p, TrainInputs, group="inputs")
    p.add_argument("--layers", default="auto", help="'auto' (2/14/26-of-28 spread) or e.g. 1,3,5")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--work-dir", required=True, type=Path, help="transcoders + checkpoint of this point (resumable)")
    add_dataclass_args(p, ModelLoad, group="model")
    add_dataclass_args(p, PointEval, group="evaluation (config sweep:)")
    add_dataclass_args(p, TrainSettings, group="training settings (config transcoders:, sweep grid)")
    p.set_defaults(func=cmd_point)

    p = sub.add_parser("select", help="results table, Pareto plot and selected.yaml")
    p.add_argument("--points", nargs="+", required=True, type=Path)
    p.add_argument("--sweep-model", required=True)
    p.add_argument("--out-parquet", required=True, type=Path)
    p.add_argument("--out-png", required=True, type=Path)
    p.add_argument("--out-yaml", required=True, type=Path)
    add_dataclass_args(p, SelectionRule, group="selection rule (config sweep.selection:)")
    p.set_defaults(func=cmd_select)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
