"""CLI of the data stage: ``r1interp data shards ...``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from r1interp.utils import setup_logging

log = logging.getLogger("r1interp.data")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="r1interp data")
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
    m = sub.add_parser("map", help="a base model's shards: its reasoner's shards read through the pair's token map")
    m.add_argument("--source-tokenizer", required=True, help="the reasoner's tokenizer dir or HF id")
    m.add_argument("--target-tokenizer", required=True, help="the base's tokenizer dir or HF id")
    m.add_argument("--source-name", required=True)
    m.add_argument("--target-name", required=True)
    m.add_argument("--unmatched-as", default="\n", help="base text for reasoner special tokens the base has no role for")
    m.add_argument("--source-shards", nargs="+", required=True, help="the reasoner's shard parquets")
    m.add_argument("--out-shards", nargs="+", required=True, help="the base's shard parquets, same order")
    m.add_argument("--out-map", required=True, help="token map JSON")
    args = ap.parse_args(argv)
    setup_logging()
    if args.cmd == "map":
        return map_shards(args)

    from transformers import AutoTokenizer

    from r1interp.artifacts.shards import write_shard
    from r1interp.core.sources import hf_examples, mix_examples, toy_examples
    from r1interp.data.shards import ShardConfig, build_shards

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
    write_shard(tables["train"], args.out_train)
    write_shard(tables["eval"], args.out_eval)


def map_shards(args: argparse.Namespace) -> None:
    import pyarrow.parquet as pq
    from transformers import AutoTokenizer

    from r1interp.artifacts.shards import write_shard
    from r1interp.artifacts.tokenmap import TokenMapError, write_token_map
    from r1interp.data.shards import map_shard
    from r1interp.data.tokenmap import derive_token_map

    if len(args.source_shards) != len(args.out_shards):
        raise SystemExit(f"--source-shards ({len(args.source_shards)}) and --out-shards ({len(args.out_shards)}) differ in length")
    missing = [p for p in args.source_shards if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"--source-shards: not found: {missing}")
    src = AutoTokenizer.from_pretrained(args.source_tokenizer)
    dst = AutoTokenizer.from_pretrained(args.target_tokenizer)
    try:
        tmap = derive_token_map(src, dst, source=args.source_name, target=args.target_name, unmatched_as=args.unmatched_as)
    except TokenMapError as e:
        raise SystemExit(f"token map {args.source_name} -> {args.target_name}: {e}") from e
    for e in tmap.entries:
        log.info("%s %r (%d) -> %s %r (%d) [%s]", args.source_name, e.source_token, e.source_id, args.target_name,
                 e.target_token, e.target_id, e.rule)
    for src_path, out_path in zip(args.source_shards, args.out_shards):
        write_shard(map_shard(pq.read_table(src_path), tmap), out_path)
        log.info("%s -> %s", src_path, out_path)
    write_token_map(tmap, args.out_map)


if __name__ == "__main__":
    main()
