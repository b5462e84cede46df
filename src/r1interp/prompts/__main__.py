"""CLI: ``r1interp prompts generate ...`` (greedy or sampled generations, scored by the checker)."""

from __future__ import annotations

import argparse

from r1interp.artifacts.write import write_parquet
from r1interp.cliargs import add_dataclass_args, from_args
from r1interp.prompts.settings import GenerationSettings
from r1interp.utils import setup_logging


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp prompts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="generations (greedy, or n seeded samples per prompt) for a prompt set")
    g.add_argument("--model-path", required=True)
    g.add_argument("--prompt-set", required=True, choices=["toy", "benchmark"])
    g.add_argument("--template", required=True, choices=["r1", "plain"])
    g.add_argument("--instruction", default=None)
    add_dataclass_args(g, GenerationSettings, group="generation settings (config generation:)")
    g.add_argument("--device", default="auto")
    g.add_argument("--dtype", default="auto")
    g.add_argument("--out", required=True, help="generations.parquet (one row per prompt and sample)")
    g.add_argument("--correctness-out", default=None, help="correctness.parquet (per-prompt status counts and rates)")
    args = ap.parse_args(argv)
    setup_logging()

    try:
        settings = from_args(GenerationSettings, args)
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
