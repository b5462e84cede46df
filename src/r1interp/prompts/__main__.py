"""CLI: ``python -m r1interp.prompts generate ...`` (greedy or sampled generations, scored by the checker)."""

from __future__ import annotations

import argparse
from dataclasses import fields

from r1interp.artifacts.write import write_parquet
from r1interp.utils import setup_logging


def _add_settings_args(parser: argparse.ArgumentParser) -> None:
    from r1interp.prompts.settings import GenerationSettings

    defaults = GenerationSettings()
    for f in fields(GenerationSettings):
        kind = float if f.name in ("temperature", "top_p") else int
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=kind, default=getattr(defaults, f.name),
                            help=f"(default {getattr(defaults, f.name)})")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m r1interp.prompts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="generations (greedy, or n seeded samples per prompt) for a prompt set")
    g.add_argument("--model-path", required=True)
    g.add_argument("--prompt-set", required=True, choices=["toy", "benchmark"])
    g.add_argument("--template", required=True, choices=["r1", "plain"])
    g.add_argument("--instruction", default=None)
    _add_settings_args(g)
    g.add_argument("--device", default="auto")
    g.add_argument("--dtype", default="auto")
    g.add_argument("--out", required=True, help="generations.parquet (one row per prompt and sample)")
    g.add_argument("--correctness-out", default=None, help="correctness.parquet (per-prompt status counts and rates)")
    args = ap.parse_args(argv)
    setup_logging()

    from r1interp.prompts.settings import GenerationSettings

    try:
        settings = GenerationSettings(**{f.name: getattr(args, f.name) for f in fields(GenerationSettings)})
    except ValueError as e:
        ap.error(str(e))

    from r1interp.core.prompt_sets import load_prompt_set
    from r1interp.models import load_model
    from r1interp.prompts.generate import correctness_table, generate_all

    prompts = load_prompt_set(args.prompt_set)
    model, tokenizer = load_model(args.model_path, args.device, args.dtype)
    df = generate_all(model, tokenizer, prompts, args.template, args.instruction, settings)
    write_parquet(df, args.out)
    if args.correctness_out:
        write_parquet(correctness_table(df), args.correctness_out)


if __name__ == "__main__":
    main()
