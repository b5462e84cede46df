"""CLI of the transcoders stage (called by ``rules/transcoders.smk``).

    r1interp transcoders train  --model-dir D --train-shard P --layers 0,1,2 \
        --out-dir results/M/transcoders/groups/G0 --checkpoint-dir results/M/transcoders/.checkpoints/G0 \
        --selected results/sweep/selected.yaml [--train-tokens N --batch-size B ...]
    r1interp transcoders link   --group-dir results/M/transcoders/groups/G0 --layer 1 \
        --out-dir results/M/transcoders/L1
    r1interp transcoders export --model-dir D --transcoders-root results/M/transcoders \
        --out-dir results/M/transcoders/circuit_tracer --scan r1interp/M
    r1interp transcoders card   --model-name M --base-model ID --model-dir D \
        --layer-dirs G0 G0 G1 alone/L3 ... --layers-parquet P --full F --selected S [--ce 0.1 ...] --out README.md
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path

from r1interp.artifacts.paths import layer_dir
from r1interp.cliargs import ModelLoad, TrainInputs, add_dataclass_args, from_args, stage_parser
from r1interp.core.settings import TrainSettings, read_selected
from r1interp.core.targets import Targets
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.transcoders")


def _require_file(path: Path, what: str) -> None:
    if not Path(path).is_file():
        raise SystemExit(f"error: {what} not found: {path}")


def cmd_train(args) -> None:
    import torch

    from r1interp.core.groups import parse_layers
    from r1interp.core.packing import packed_dataset
    from r1interp.core.train import train_group
    from r1interp.models import load_model, model_shape

    _require_file(args.train_shard, "train shard")
    settings = from_args(TrainSettings, args)
    if args.selected is not None:
        settings = settings.with_selected(read_selected(args.selected))
    layers = parse_layers(args.layers)
    n_layers = model_shape(args.model_dir).n_layers
    bad = [layer for layer in layers if not 0 <= layer < n_layers]
    if bad:
        raise SystemExit(f"error: --layers {bad} outside 0..{n_layers - 1} of {args.model_dir}")
    log.info("training layers %s with %s", layers, settings)
    torch.manual_seed(settings.seed)
    dataset = packed_dataset(args.train_shard, settings.seq_len, settings.n_rows, settings.seed)
    model, _tok = load_model(args.model_dir, args.device, args.dtype)
    # sparsify prints progress to stdout; keep stdout clean for Snakemake and send it to the log
    with contextlib.redirect_stdout(sys.stderr):
        manifest = train_group(
            model, layers, dataset, settings, args.out_dir, args.checkpoint_dir,
            data_id=f"{Path(args.train_shard).resolve()}:{Path(args.train_shard).stat().st_size}",
        )
    # Both models of a pair train on one token stream (the base reads it with its own special tokens):
    # the manifest names it, so the model cards can show that two dictionaries read the same text.
    from r1interp.artifacts.shards import read_stream_hash
    from r1interp.artifacts.write import write_text
    from r1interp.core.train import MANIFEST_FILE

    manifest["stream_sha256"] = read_stream_hash(args.train_shard)
    manifest["train_shard"] = str(args.train_shard)
    write_text(json.dumps(manifest, indent=2), Path(args.out_dir) / MANIFEST_FILE)
    log.info("trained %d layers on %d tokens of stream %s in %.1f s", len(layers), manifest["tokens"],
             (manifest["stream_sha256"] or "?")[:12], manifest["seconds"])


def cmd_link(args) -> None:
    from r1interp.artifacts.transcoder import load_transcoder
    from r1interp.core.train import export_layer_files

    src = layer_dir(args.group_dir, args.layer)
    load_transcoder(src)  # fails naming the file if the group's output is broken
    export_layer_files(src, args.out_dir)


def cmd_export(args) -> None:
    import torch

    from r1interp.models import model_shape
    from r1interp.transcoders.export import export_circuit_tracer

    n_layers = model_shape(args.model_dir).n_layers
    dirs = {layer: layer_dir(args.transcoders_root, layer) for layer in range(n_layers)}
    dtype = None if args.dtype == "keep" else getattr(torch, args.dtype)
    cfg = export_circuit_tracer(dirs, args.out_dir, args.scan, dtype)
    log.info("exported %d layers (k=%d) to %s", len(cfg["transcoders"]), cfg["k"], args.out_dir)


def cmd_card(args) -> None:
    import pandas as pd
    import yaml

    from r1interp.artifacts.write import write_text
    from r1interp.core.train import MANIFEST_FILE
    from r1interp.models import model_shape
    from r1interp.transcoders.card import model_card

    for path, what in ((args.layers_parquet, "per-layer eval table"), (args.full, "full-replacement result"), (args.selected, "sweep selection")):
        _require_file(path, what)
    n_layers = model_shape(args.model_dir).n_layers
    if len(args.layer_dirs) != n_layers:
        raise SystemExit(f"--layer-dirs: {len(args.layer_dirs)} directories for {n_layers} layers (one per layer, in layer order)")
    manifests: dict[Path, dict] = {}
    for d in dict.fromkeys(args.layer_dirs):
        _require_file(d / MANIFEST_FILE, "training manifest")
        manifests[d] = {**json.loads((d / MANIFEST_FILE).read_text()), "dir": d.as_posix()}
    selection = yaml.safe_load(Path(args.selected).read_text())
    text = model_card(
        args.model_name, args.base_model, args.license, pd.read_parquet(args.layers_parquet),
        json.loads(Path(args.full).read_text()), {layer: manifests[d] for layer, d in enumerate(args.layer_dirs)},
        {k: selection.get(k) for k in ("point", "rule", "fallback")}, model_shape(args.model_dir).d_model,
        from_args(Targets, args), args.export_dtype,
    )
    write_text(text, args.out)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser, sub = stage_parser("transcoders", __doc__)

    p = sub.add_parser("train", help="train one group of layers (resumes from its checkpoint)")
    add_dataclass_args(p, TrainInputs, group="inputs")
    p.add_argument("--layers", required=True, help="e.g. 0,1,2 or 0-2")
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--checkpoint-dir", required=True, type=Path)
    p.add_argument("--selected", type=Path, default=None, help="sweep selected.yaml (overrides expansion_factor, k, lr, skip)")
    add_dataclass_args(p, ModelLoad, group="model")
    add_dataclass_args(p, TrainSettings, group="training settings (config transcoders:, sweep grid)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("link", help="place one layer of a trained group at its per-layer path")
    p.add_argument("--group-dir", required=True, type=Path)
    p.add_argument("--layer", required=True, type=int)
    p.add_argument("--out-dir", required=True, type=Path)
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("export", help="circuit-tracer-ready export of all layers")
    p.add_argument("--model-dir", required=True)
    p.add_argument("--transcoders-root", required=True, type=Path)
    p.add_argument("--out-dir", required=True, type=Path)
    p.add_argument("--scan", required=True)
    p.add_argument("--dtype", default="keep", choices=["keep", "float32", "bfloat16", "float16"])
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("card", help="Hugging Face model card README.md")
    p.add_argument("--model-name", required=True)
    p.add_argument("--base-model", required=True)
    p.add_argument("--model-dir", required=True)
    p.add_argument("--license", default="mit")
    p.add_argument("--layer-dirs", nargs="+", required=True, type=Path,
                   help="the training output each layer's weights come from, one per layer in layer order (a group, or alone/L<n>)")
    p.add_argument("--export-dtype", default="keep", choices=["keep", "float32", "bfloat16", "float16"],
                   help="dtype of the circuit_tracer/ export (transcoders.export_dtype), stated in the card")
    add_dataclass_args(p, Targets, group="faithfulness targets (config evaluate.targets:), as the evaluate stage flagged")
    p.add_argument("--layers-parquet", required=True, type=Path)
    p.add_argument("--full", required=True, type=Path)
    p.add_argument("--selected", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.set_defaults(func=cmd_card)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    sys.exit(main())
