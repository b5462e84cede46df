"""CLI of the data stage: ``python -m r1interp.data shards ...``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.data")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m r1interp.data")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("shards", help="chat-template, segment and tokenise a corpus into train/eval shards")
    s.add_argument("--tokenizer", required=True, help="tokenizer dir or HF id (the model's own)")
    s.add_argument("--source", choices=["toy", "hf"], required=True)
    s.add_argument("--corpus", help="toy corpus jsonl (source=toy)")
    s.add_argument("--datasets", default="[]", help="JSON list of dataset specs (source=hf)")
    s.add_argument("--local-files", nargs="*", default=[], help="local parquet/jsonl with the dataset's columns")
    s.add_argument("--shard-config", required=True, help="JSON of ShardConfig fields")
    s.add_argument("--out-train", required=True)
    s.add_argument("--out-eval", required=True)
    args = ap.parse_args(argv)
    setup_logging()

    from transformers import AutoTokenizer

    from r1interp.data.shards import ShardConfig, build_shards, write_table
    from r1interp.data.sources import hf_examples, mix_examples, toy_examples

    cfg = ShardConfig(**json.loads(args.shard_config))
    if args.source == "toy":
        if not args.corpus or not Path(args.corpus).is_file():
            raise SystemExit(f"--corpus: toy corpus file not found: {args.corpus}")
        examples = toy_examples(args.corpus)
    else:
        specs = json.loads(args.datasets)
        if not specs:
            raise SystemExit("data.hf.datasets is empty: name at least one dataset for source=hf")
        if args.local_files and len(specs) > 1:
            raise SystemExit("data.hf.local_files stands in for exactly one dataset; name one in data.hf.datasets")
        streams = [hf_examples(spec, args.local_files) for spec in specs]
        examples = mix_examples(streams, [float(s.get("weight", 1.0)) for s in specs], cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    tables = build_shards(tokenizer, examples, cfg)
    write_table(tables["train"], args.out_train)
    write_table(tables["eval"], args.out_eval)


if __name__ == "__main__":
    main()
