"""CLI of the evaluation stage (called by ``rules/evaluate.smk``).

    r1interp evaluate layer --model-dir D --eval-shard P --transcoder DIR --layer L --out L{L}.json
    r1interp evaluate full  --model-dir D --eval-shard P --transcoders-root ROOT --out full.json \
                                      --generations-out generations.md
    r1interp evaluate table --layer-json L0.json ... --full full.json --out-parquet layers.parquet \
                                      --out-md summary.md
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from r1interp.artifacts.paths import layer_dir
from r1interp.artifacts.write import write_json, write_parquet, write_text
from r1interp.cliargs import add_dataclass_args, from_args
from r1interp.evaluate.config import EvalData, SideBySide
from r1interp.evaluate.table import Targets, layers_frame, summary_markdown
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.evaluate")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-dir", required=True, help="HF model dir or id")
    p.add_argument("--eval-shard", required=True, type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    add_dataclass_args(p, EvalData, group="eval data (config evaluate:)")


def _load(args):
    from r1interp.core.batches import load_eval_docs
    from r1interp.models import load_model

    docs = load_eval_docs(args.eval_shard, args.max_tokens, args.max_len)
    model, tok = load_model(args.model_dir, args.device, args.dtype)
    return model, tok, docs


def _check_transcoder(tc, model, where: Path) -> None:
    d = model.config.hidden_size
    if tc.d_in != d:
        raise SystemExit(f"error: transcoder {where} has d_in={tc.d_in} but the model's hidden_size is {d}")


def cmd_layer(args) -> None:
    from r1interp.artifacts.transcoder import load_transcoder
    from r1interp.core.batches import make_batches
    from r1interp.core.metrics import evaluate_layer

    tc = load_transcoder(args.transcoder)  # validates the files before the model loads
    model, _tok, docs = _load(args)
    n_layers = model.config.num_hidden_layers
    if not 0 <= args.layer < n_layers:
        raise SystemExit(f"error: --layer {args.layer} outside 0..{n_layers - 1} of {args.model_dir}")
    _check_transcoder(tc, model, args.transcoder)
    tc = tc.to(next(model.parameters()).device)
    res = evaluate_layer(model, args.layer, tc, make_batches(docs, args.batch_size))
    res["transcoder"] = str(args.transcoder)
    write_json(res, args.out)
    log.info("layer %d: CE increase %.4f nats, FVU %.4f, L0 %.1f, dead %.1f%%", args.layer, res["ce_increase"], res["fvu"], res["l0"], res["dead_pct"])


def cmd_full(args) -> None:
    from r1interp.artifacts.transcoder import load_transcoders
    from r1interp.core.batches import make_batches
    from r1interp.core.metrics import evaluate_full
    from r1interp.evaluate.generations import generations_markdown, prompt_prefixes, side_by_side
    from r1interp.models import model_shape

    n_layers = model_shape(args.model_dir).n_layers
    dirs = {layer: layer_dir(args.transcoders_root, layer) for layer in range(n_layers)}
    tcs = load_transcoders(dirs)
    model, tok, docs = _load(args)
    dev = next(model.parameters()).device
    for layer, tc in tcs.items():
        _check_transcoder(tc, model, dirs[layer])
    tcs = {layer: tc.to(dev) for layer, tc in tcs.items()}
    res = evaluate_full(model, tcs, make_batches(docs, args.batch_size))
    write_json(res, args.out)
    log.info("all %d layers replaced: CE increase %.4f nats, KL %.4f, top-1 agreement %.3f", n_layers, res["ce_increase"], res["kl"], res["top1_agreement"])
    if args.generations_out:
        rows = side_by_side(model, tok, tcs, prompt_prefixes(docs, args.n_prompts), args.max_new_tokens)
        write_text(generations_markdown(args.model_name or str(args.model_dir), rows), args.generations_out)


def cmd_table(args) -> None:
    results = []
    for path in args.layer_json:
        if not path.is_file():
            raise SystemExit(f"error: per-layer result not found: {path}")
        results.append(json.loads(path.read_text()))
    if not args.full.is_file():
        raise SystemExit(f"error: full-replacement result not found: {args.full}")
    full = json.loads(args.full.read_text())
    targets = from_args(Targets, args)
    df = layers_frame(results, targets)
    write_parquet(df, args.out_parquet)
    write_text(summary_markdown(args.model_name, df, full, targets), args.out_md)
    log.info("mean per-layer CE increase %.4f nats; flags: %s", df["ce_increase"].mean(), df["flag"].value_counts().to_dict())


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(prog="r1interp evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("layer", help="metrics with one layer's MLP replaced")
    _common(p)
    p.add_argument("--transcoder", required=True, type=Path, help="dir with cfg.json + sae.safetensors")
    p.add_argument("--layer", required=True, type=int)
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_layer)

    p = sub.add_parser("full", help="metrics with all MLPs replaced + side-by-side generations")
    _common(p)
    p.add_argument("--transcoders-root", required=True, type=Path, help="dir holding L{layer}/ for every layer")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--generations-out", type=Path, default=None)
    add_dataclass_args(p, SideBySide, group="side-by-side generations (config evaluate.generations:)")
    p.add_argument("--model-name", default="")
    p.set_defaults(func=cmd_full)

    p = sub.add_parser("table", help="per-layer parquet + flag table markdown")
    p.add_argument("--layer-json", nargs="+", required=True, type=Path)
    p.add_argument("--full", required=True, type=Path)
    p.add_argument("--out-parquet", required=True, type=Path)
    p.add_argument("--out-md", required=True, type=Path)
    p.add_argument("--model-name", required=True)
    add_dataclass_args(p, Targets, group="targets (config evaluate.targets:)")
    p.set_defaults(func=cmd_table)

    args = parser.parse_args(argv)
    if args.command in ("layer", "full") and not args.eval_shard.is_file():
        raise SystemExit(f"error: eval shard not found: {args.eval_shard}")
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
