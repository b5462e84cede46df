"""CLI of the features stage: ``r1interp features collect ...`` (one model pass, all layers)."""

from __future__ import annotations

import argparse
import json
import logging

from r1interp.artifacts.paths import layer_dir
from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.features")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="r1interp features")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect", help="per-feature statistics and examples for every layer in one model pass")
    c.add_argument("--model-path", required=True, help="model dir or HF id")
    c.add_argument("--shards", nargs="+", required=True, help="token shard parquet file(s)")
    c.add_argument("--transcoders-dir", required=True, help="dir holding L{layer}/{cfg.json,sae.safetensors}")
    c.add_argument("--layers", nargs="+", type=int, required=True)
    c.add_argument("--out-dir", required=True)
    c.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")
    c.add_argument("--dtype", default="auto", help="model (and transcoder) dtype: auto | float32 | bfloat16 | float16")
    c.add_argument("--params", default="{}", help="JSON of FeatureConfig fields (the config's `features:` section)")
    c.add_argument("--no-progress", action="store_true")
    return ap.parse_args(argv)


def validate(args: argparse.Namespace):
    """Every input check that is cheap, before the model is loaded; exits naming the bad input."""
    from r1interp.artifacts.transcoder import TranscoderFileError, read_meta
    from r1interp.features.config import FeatureConfig
    from r1interp.features.corpus import Corpus, CorpusError
    from r1interp.models import model_shape

    try:
        params = json.loads(args.params)
        if not isinstance(params, dict):
            raise ValueError("--params must be a JSON object")
        cfg = FeatureConfig.from_dict(params)
    except (ValueError, TypeError) as e:
        raise SystemExit(f"--params: {e}") from e
    if len(set(args.layers)) != len(args.layers):
        raise SystemExit(f"--layers: duplicate layers in {args.layers}")
    try:
        shape = model_shape(args.model_path)
    except Exception as e:  # noqa: BLE001 - any failure to read the config is the same user error
        raise SystemExit(f"--model-path: cannot read the model config of {args.model_path}: {e}") from e
    bad = [layer for layer in args.layers if not 0 <= layer < shape.n_layers]
    if bad:
        raise SystemExit(f"--layers: {bad} out of range for {args.model_path}; allowed 0..{shape.n_layers - 1}")
    tc_dirs = {layer: layer_dir(args.transcoders_dir, layer) for layer in args.layers}
    for layer, path in tc_dirs.items():
        try:
            meta = read_meta(path)
        except TranscoderFileError as e:
            raise SystemExit(f"--transcoders-dir: {e}") from e
        if not (path / "sae.safetensors").is_file():
            raise SystemExit(f"--transcoders-dir: transcoder weights not found: {path / 'sae.safetensors'}")
        if meta.d_in != shape.d_model:
            raise SystemExit(f"{path / 'cfg.json'}: d_in={meta.d_in} but {args.model_path} has hidden_size={shape.d_model}")
    try:
        corpus = Corpus.from_parquet(args.shards)
    except CorpusError as e:
        raise SystemExit(f"--shards: {e}") from e
    if corpus.n_tokens == 0:
        raise SystemExit(f"--shards: no tokens in {args.shards}")
    return cfg, corpus, tc_dirs


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging()
    cfg, corpus, tc_dirs = validate(args)
    log.info("corpus: %d documents, %d tokens; layers %s", corpus.n_docs, corpus.n_tokens, sorted(tc_dirs))

    from r1interp.artifacts.transcoder import load_transcoder
    from r1interp.features.io import collect_to_dir
    from r1interp.models import load_model

    model, tokenizer = load_model(args.model_path, device=args.device, dtype=args.dtype)
    param = next(model.parameters())
    transcoders = {layer: load_transcoder(path, device=param.device, dtype=param.dtype) for layer, path in tc_dirs.items()}
    info = collect_to_dir(model, tokenizer, transcoders, corpus, cfg, args.out_dir, progress=not args.no_progress)
    log.info("done: %d tokens in %.1f s (%s tok/s)", info["tokens_processed"], info["seconds"], info["tokens_per_second"])


if __name__ == "__main__":
    main()
