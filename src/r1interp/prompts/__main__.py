"""CLI: ``python -m r1interp.prompts generate ...`` (greedy generations scored by the checker)."""

from __future__ import annotations

import argparse

from r1interp.utils import atomic_path, setup_logging


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m r1interp.prompts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="greedy generations for a prompt set")
    g.add_argument("--model-path", required=True)
    g.add_argument("--prompt-set", required=True, choices=["toy", "benchmark"])
    g.add_argument("--template", required=True, choices=["r1", "plain"])
    g.add_argument("--instruction", default=None)
    g.add_argument("--max-new-tokens", type=int, default=96)
    g.add_argument("--device", default="auto")
    g.add_argument("--dtype", default="auto")
    g.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    setup_logging()

    from r1interp.models import load_model
    from r1interp.prompts.generate import generate_all
    from r1interp.prompts.sets import load_prompt_set

    prompts = load_prompt_set(args.prompt_set)
    model, tokenizer = load_model(args.model_path, args.device, args.dtype)
    df = generate_all(model, tokenizer, prompts, args.template, args.instruction, args.max_new_tokens)
    with atomic_path(args.out) as tmp:
        df.to_parquet(tmp, index=False)


if __name__ == "__main__":
    main()
