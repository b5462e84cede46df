"""CLI for the model-diff analyses.

``r1interp modeldiff residual --reasoner-path P --base-path P --shard S --out-dir D [...]``
``r1interp modeldiff dictionary --reasoner-transcoders DIR --base-transcoders DIR --out-dir D [...]``
"""

from __future__ import annotations

import argparse
import gc
import logging
import re
import sys
from pathlib import Path

import pandas as pd

from r1interp.artifacts.paths import layer_dir
from r1interp.artifacts.write import write_figure, write_parquet
from r1interp.utils import cli_bool, cli_int_at_least, run_command

log = logging.getLogger("r1interp.modeldiff")

RESIDUAL_FILE = "residual_diff.parquet"
RESIDUAL_PLOT = "residual_diff.png"
MATCH_FILE = "dictionary_match.parquet"
SUMMARY_FILE = "dictionary_summary.parquet"
MATCH_PLOT = "dictionary_match.png"


def _cosine(value: str) -> float:
    v = float(value)
    if not -1.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"a cosine threshold must be in [-1, 1], got {v}")
    return v


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="r1interp modeldiff", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("residual", help="per-layer residual distance reasoner vs base (and control vs base)")
    r.add_argument("--reasoner-path", required=True)
    r.add_argument("--reasoner-name", required=True)
    r.add_argument("--base-path", required=True)
    r.add_argument("--base-name", required=True)
    r.add_argument("--control-path", default=None, help="optional control model (another fine-tune of the base: reads --base-shard when given)")
    r.add_argument("--control-name", default=None)
    r.add_argument("--shard", required=True, type=Path, help="the reasoner's eval shard (read by the reasoner and the control)")
    r.add_argument("--base-shard", type=Path, default=None,
                   help="the same documents as the base reads them (results/{base}/data/eval.parquet: its own special tokens)")
    r.add_argument("--out-dir", required=True, type=Path)
    r.add_argument("--device", default="auto")
    r.add_argument("--dtype", default="auto", help="one dtype for every model, so that differences are not precision noise")
    r.add_argument("--max-docs", type=cli_int_at_least(0), default=128, help="0 = all documents")
    r.add_argument("--max-len", type=cli_int_at_least(0), default=1024, help="truncate documents (0 = no limit)")
    r.add_argument("--skip-first-token", type=cli_bool, default=True)
    r.add_argument("-v", "--verbose", action="store_true")

    d = sub.add_parser("dictionary", help="decoder-cosine matching of two models' transcoder dictionaries")
    d.add_argument("--reasoner-name", required=True)
    d.add_argument("--base-name", required=True)
    d.add_argument("--reasoner-transcoders", required=True, type=Path, help="results/{reasoner}/transcoders (holds L{layer}/)")
    d.add_argument("--base-transcoders", required=True, type=Path)
    d.add_argument("--layers", type=int, nargs="+", default=None, help="default: every L{layer} present in both")
    d.add_argument("--reasoner-labels", type=Path, default=None, help="results/{reasoner}/labels (L{layer}.json), optional")
    d.add_argument("--base-labels", type=Path, default=None)
    d.add_argument("--threshold", type=_cosine, default=0.7)
    d.add_argument("--device", default="auto", help="auto = cuda when present (the matching is a large matmul)")
    d.add_argument("--out-dir", required=True, type=Path)
    d.add_argument("-v", "--verbose", action="store_true")
    return p


def cmd_residual(args: argparse.Namespace) -> None:
    from r1interp.modeldiff.plots import plot_residual_diff
    from r1interp.modeldiff.residual import check_token_ids, load_docs, residual_diff, tokenizer_mismatch
    from r1interp.models import load_model, model_shape

    if args.reasoner_name == args.base_name:
        log.info("reasoner and base are the same model: the diff is zero by construction")
    if (args.control_path is None) != (args.control_name is None):
        raise ValueError("--control-path and --control-name go together")
    docs = load_docs(args.shard, args.max_docs, args.max_len)
    paths = {args.reasoner_name: args.reasoner_path, args.base_name: args.base_path}
    if args.control_path:
        paths[args.control_name] = args.control_path
    shapes = {name: model_shape(path) for name, path in paths.items()}
    ref = shapes[args.base_name]
    for name, s in shapes.items():
        if (s.n_layers, s.d_model) != (ref.n_layers, ref.d_model):
            raise ValueError(
                f"model {name} ({paths[name]}) has {s.n_layers} layers × {s.d_model} but base {args.base_name} has "
                f"{ref.n_layers} × {ref.d_model}; a per-layer diff needs the same architecture"
            )
    base_docs = load_docs(args.base_shard, args.max_docs, args.max_len) if args.base_shard else None
    check_token_ids(docs, {name: s.vocab_size for name, s in shapes.items() if name != args.base_name or base_docs is None})
    if base_docs is not None:
        check_token_ids(base_docs, {args.base_name: ref.vocab_size})
    log.info("%d documents (%d tokens) from %s%s", len(docs), sum(len(d.ids) for d in docs), args.shard,
             f"; the base reads {args.base_shard}" if base_docs is not None else "")

    base, base_tok = load_model(args.base_path, device=args.device, dtype=args.dtype)
    layers = list(range(ref.n_layers))
    tables = []
    comparisons = [("reasoner", args.reasoner_name)] + ([("control", args.control_name)] if args.control_path else [])
    for comparison, name in comparisons:
        model, tok = load_model(paths[name], device=args.device, dtype=args.dtype)
        # the control is another fine-tune of the base: it reads the stream as the base does (its own
        # special-token ids), so that it and the base see the same tokens
        own = base_docs if comparison == "control" and base_docs is not None else docs
        if base_docs is None:
            tokenizer_mismatch({name: tok, args.base_name: base_tok}, docs)
        acc = residual_diff(model, base, own, args.skip_first_token, desc=f"{name} vs {args.base_name}", docs_b=base_docs)
        tables.append(acc.table(comparison, name, args.base_name, layers))
        del model
        gc.collect()
    df = pd.concat(tables, ignore_index=True)
    write_parquet(df, args.out_dir / RESIDUAL_FILE)
    fig = plot_residual_diff(df, f"residual stream: {args.reasoner_name} vs {args.base_name}")
    write_figure(fig, args.out_dir / RESIDUAL_PLOT)
    log.info("wrote %s", args.out_dir)


def _layers_in(root: Path) -> set[int]:
    if not root.is_dir():
        raise FileNotFoundError(f"transcoder directory not found: {root}")
    return {int(m.group(1)) for p in root.iterdir() if (m := re.fullmatch(r"L(\d+)", p.name)) and p.is_dir()}


def cmd_dictionary(args: argparse.Namespace) -> None:
    from r1interp.artifacts.labels import read_layer_labels
    from r1interp.artifacts.transcoder import load_transcoder, read_meta
    from r1interp.modeldiff.dictionary import match_table, summarise_matches
    from r1interp.modeldiff.plots import plot_dictionary
    from r1interp.models import resolve_device

    roots = {args.reasoner_name: args.reasoner_transcoders, args.base_name: args.base_transcoders}
    if args.layers is None:
        found = [_layers_in(r) for r in roots.values()]
        layers = sorted(found[0] & found[1])
        if not layers:
            raise ValueError(f"no common L{{layer}} transcoder directories under {list(map(str, roots.values()))}")
    else:
        layers = sorted(set(args.layers))
    for layer in layers:  # validate every config before loading any weights
        metas = {name: read_meta(layer_dir(root, layer)) for name, root in roots.items()}
        widths = {name: m.d_in for name, m in metas.items()}
        if len(set(widths.values())) != 1:
            raise ValueError(f"layer {layer}: transcoder widths differ {widths}")
    device = resolve_device(args.device)
    tables = []
    for layer in layers:
        W = {name: load_transcoder(layer_dir(root, layer), device=device).W_dec.detach() for name, root in roots.items()}
        tables.append(
            match_table(
                layer,
                args.reasoner_name,
                args.base_name,
                W[args.reasoner_name],
                W[args.base_name],
                args.threshold,
                read_layer_labels(args.reasoner_labels, layer),
                read_layer_labels(args.base_labels, layer),
            )
        )
        log.info("layer %d: matched %s features", layer, {k: v.shape[0] for k, v in W.items()})
    matches = pd.concat(tables, ignore_index=True)
    summary = summarise_matches(matches)
    write_parquet(matches, args.out_dir / MATCH_FILE)
    write_parquet(summary, args.out_dir / SUMMARY_FILE)
    fig = plot_dictionary(summary, matches, args.threshold, f"transcoder dictionaries: {args.reasoner_name} vs {args.base_name}")
    write_figure(fig, args.out_dir / MATCH_PLOT)
    log.info("wrote %s", args.out_dir)


def main(argv: list[str] | None = None) -> int:
    return run_command(build_parser().parse_args(argv), {"residual": cmd_residual, "dictionary": cmd_dictionary}, log)


if __name__ == "__main__":
    sys.exit(main())
