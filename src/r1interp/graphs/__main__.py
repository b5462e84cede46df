"""CLI of the graphs stage.

``r1interp graphs plan``: which graphs to build (``plan.parquet``; teacher-forced for a base).
``r1interp graphs build``: the graphs of one prompt (rule wildcards ``{model}/{prompt}``).
``r1interp graphs finalize``: one model's viewer dir, ``index.parquet``, ``scores.parquet``.

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


def cmd_plan(args: argparse.Namespace) -> None:
    """The graph plan: on the model's own generations, or teacher-forced on its reasoner's."""
    from transformers import AutoTokenizer

    from r1interp.artifacts.generations import read_generations
    from r1interp.artifacts.write import write_parquet
    from r1interp.graphs.adapter import resolve_model_dir
    from r1interp.graphs.plan import GENERATION_COLUMNS, make_plan, teacher_forced_plan

    cfg = _config(args.config_json)
    gens = read_generations(args.generations, GENERATION_COLUMNS)
    if args.token_map and not args.stream_model_path:
        raise SystemExit("--token-map needs --stream-model-path (the reasoner whose generations are read)")
    stream_tok = AutoTokenizer.from_pretrained(str(resolve_model_dir(args.stream_model_path or args.model_path)))
    own = "own" if not args.token_map else f"teacher_forced:{args.stream_name}"
    plan = make_plan(gens, stream_tok, cfg.think_rules, cfg.think_count, cfg.max_context, own)
    if args.token_map:
        from r1interp.artifacts.tokenmap import read_token_map

        model_tok = AutoTokenizer.from_pretrained(str(resolve_model_dir(args.model_path)))
        plan = teacher_forced_plan(plan, read_token_map(args.token_map), model_tok, own)
    for r in plan.itertuples():
        log.info("%s: %s", r.prompt_id, f"{r.phase}@{r.position} {r.rule} {r.target_token!r}" if r.graph_id else "")
        if r.reason:
            log.warning("%s %s: %s", r.prompt_id, r.graph_id, r.reason)
    n_build = int((plan["reason"] == "").sum())
    log.info("plan: %d graphs to build over %d prompts (%s)", n_build, plan["prompt_id"].nunique(), own)
    write_parquet(plan, args.out)


def cmd_build(args: argparse.Namespace) -> None:
    from transformers import AutoConfig

    from r1interp.graphs.adapter import check_transcoder_dirs, load_replacement_model, resolve_model_dir
    from r1interp.graphs.build import PlannedGraph, build_prompt
    from r1interp.graphs.plan import read_plan
    from r1interp.graphs.viewer import viewer_scan
    from r1interp.models import resolve_device

    cfg = _config(args.config_json)
    rows = read_plan(args.plan, args.prompt_id)
    plans = [PlannedGraph.from_row(r) for _, r in rows[rows["reason"] == ""].iterrows()]
    log.info("%s: %s", args.prompt_id, ", ".join(f"{p.phase}@{p.position}" for p in plans) or "no graph to build")
    if not plans:  # the plan says why (unfinished trace, context too long, ...): an empty manifest, no model load
        from r1interp.artifacts.write import write_json
        from r1interp.graphs.build import MANIFEST

        write_json({"prompt_id": args.prompt_id, "config": cfg.to_dict(), "graphs": [], "failed": []},
                   Path(args.out_dir) / MANIFEST, newline=False)
        return
    model_dir = resolve_model_dir(args.model_path)
    n_layers = AutoConfig.from_pretrained(str(model_dir)).num_hidden_layers
    check_transcoder_dirs(args.transcoders_dir, n_layers)
    model, tok = load_replacement_model(
        model_dir, args.transcoders_dir, dtype=cfg.dtype, device=resolve_device(args.device),
        n_ctx=max(cfg.max_context, 16), scan=args.model_name, lazy_decoder=cfg.lazy_decoder,
    )
    build_prompt(model, tok, plans, cfg, args.out_dir, viewer_scan(args.model_name), args.prompt_id)
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
             labels_db=args.labels_db, tokenizer=tokenizer, plan_path=args.plan)


def main(argv: list[str] | None = None) -> None:
    from r1interp.utils import setup_logging

    ap = argparse.ArgumentParser(prog="r1interp graphs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    pl = sub.add_parser("plan", help="which graphs to build: positions where decisions are made (think/answer)")
    pl.add_argument("--model-path", required=True, help="this model's dir or HF id (its tokenizer)")
    pl.add_argument("--generations", required=True, help="generations.parquet: the model's own, or its reasoner's")
    pl.add_argument("--token-map", help="results/{base}/data/tokenmap.json: teacher-force the reasoner's generations")
    pl.add_argument("--stream-model-path", help="the reasoner's dir or HF id (with --token-map)")
    pl.add_argument("--stream-name", default="reasoner", help="the reasoner's registry key (with --token-map)")
    pl.add_argument("--config-json", default="{}", help="JSON of the graphs config section")
    pl.add_argument("--out", required=True, help="results/{model}/graphs/plan.parquet")
    pl.set_defaults(func=cmd_plan)
    b = sub.add_parser("build", help="attribution graphs of one prompt's planned positions")
    b.add_argument("--model-path", required=True, help="local HF model dir or HF id in the local cache")
    b.add_argument("--model-name", required=True, help="registry key of the model (names the viewer scan)")
    b.add_argument("--transcoders-dir", required=True, help="dir with L{layer}/ sparsify checkpoints for every layer")
    b.add_argument("--plan", required=True, help="results/{model}/graphs/plan.parquet")
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
    f.add_argument("--plan", help="results/{model}/graphs/plan.parquet: prompts without graphs go to the index with their reason")
    f.set_defaults(func=cmd_finalize)
    args = ap.parse_args(argv)
    setup_logging()
    args.func(args)


if __name__ == "__main__":
    main()
