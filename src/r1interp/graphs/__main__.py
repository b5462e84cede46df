"""CLI of the graphs stage.

``python -m r1interp.graphs build``: the graphs of one prompt (rule wildcards ``{model}/{prompt}``).
``python -m r1interp.graphs finalize``: one model's viewer dir, ``index.parquet``, ``scores.parquet``.

Inputs are validated (files, columns, prompt id, context length, every layer's transcoder)
before the model is loaded.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
from pathlib import Path

log = logging.getLogger("r1interp.graphs")


def _config(text: str):
    from r1interp.graphs.config import GraphsConfig

    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise SystemExit(f"--config-json is not valid JSON: {e}") from e
    try:
        return GraphsConfig.from_dict(values)
    except (TypeError, ValueError) as e:
        raise SystemExit(f"--config-json: {e}") from e


def cmd_build(args: argparse.Namespace) -> None:
    from transformers import AutoConfig, AutoTokenizer

    from r1interp.graphs.adapter import check_transcoder_dirs, load_replacement_model, resolve_model_dir
    from r1interp.graphs.build import blank_token_ids, build_prompt, plan_phases, read_generation
    from r1interp.graphs.viewer import viewer_scan
    from r1interp.models import resolve_device

    cfg = _config(args.config_json)
    gen = read_generation(args.generations, args.prompt_id)
    model_dir = resolve_model_dir(args.model_path)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    positions = plan_phases(gen, cfg, blank_token_ids(tokenizer, gen.ids))
    n_layers = AutoConfig.from_pretrained(str(model_dir)).num_hidden_layers
    check_transcoder_dirs(args.transcoders_dir, n_layers)
    log.info("%s: %s", gen.prompt_id, ", ".join(f"{p.phase}@{p.position}" for p in positions))

    model, tok = load_replacement_model(
        model_dir, args.transcoders_dir, dtype=cfg.dtype, device=resolve_device(args.device),
        n_ctx=max(cfg.max_context, 16), scan=args.model_name, lazy_decoder=cfg.lazy_decoder,
    )
    build_prompt(model, tok, gen, positions, cfg, args.out_dir, viewer_scan(args.model_name))
    del model  # before interpreter shutdown: circuit-tracer's __del__ fails once torch is torn down
    gc.collect()


def cmd_finalize(args: argparse.Namespace) -> None:
    from r1interp.graphs.finalize import finalize

    tokenizer = None
    if args.model_path:
        from transformers import AutoTokenizer

        from r1interp.graphs.adapter import resolve_model_dir

        tokenizer = AutoTokenizer.from_pretrained(str(resolve_model_dir(args.model_path)))
    for d in args.build_dirs:
        if not (Path(d) / "manifest.json").is_file():
            raise SystemExit(f"--build-dirs: {Path(d) / 'manifest.json'} not found")
    if args.features_dir and not Path(args.features_dir).is_dir():
        raise SystemExit(f"--features-dir: directory not found: {args.features_dir}")
    finalize(args.build_dirs, args.out_dir, args.model_name, features_dir=args.features_dir,
             labels_db=args.labels_db, tokenizer=tokenizer)


def main(argv: list[str] | None = None) -> None:
    from r1interp.utils import setup_logging

    ap = argparse.ArgumentParser(prog="python -m r1interp.graphs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="attribution graphs of one prompt's generation (think/answer/full phases)")
    b.add_argument("--model-path", required=True, help="local HF model dir or HF id in the local cache")
    b.add_argument("--model-name", required=True, help="registry key of the model (names the viewer scan)")
    b.add_argument("--transcoders-dir", required=True, help="dir with L{layer}/ sparsify checkpoints for every layer")
    b.add_argument("--generations", required=True, help="results/{model}/generations.parquet")
    b.add_argument("--prompt-id", required=True)
    b.add_argument("--out-dir", required=True, help="build dir of this prompt: {graph_id}.json + manifest.json")
    b.add_argument("--config-json", default="{}", help="JSON of the graphs config section (GraphsConfig fields)")
    b.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    b.set_defaults(func=cmd_build)
    f = sub.add_parser("finalize", help="viewer-ready dir + index/scores tables of one model")
    f.add_argument("--build-dirs", nargs="+", required=True, help="per-prompt build dirs (each with manifest.json)")
    f.add_argument("--out-dir", required=True, help="results/{model}/graphs")
    f.add_argument("--model-name", required=True)
    f.add_argument("--features-dir", help="results/{model}/features (L{layer}.stats/.examples.parquet)")
    f.add_argument("--labels-db", help="results/{model}/labels.sqlite (autointerp); missing → empty clerps")
    f.add_argument("--model-path", help="model dir/id, for its tokenizer when logit tokens are stored as ids")
    f.set_defaults(func=cmd_finalize)
    args = ap.parse_args(argv)
    setup_logging()
    args.func(args)


if __name__ == "__main__":
    main()
