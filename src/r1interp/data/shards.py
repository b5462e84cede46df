"""Token shards: chat-templated, segmented documents split deterministically into train/eval.

The contract (schema, stream hash, reader, writer) lives in :mod:`r1interp.artifacts.shards`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pyarrow as pa

from r1interp.artifacts.segments import OTHER, SEGMENT_NAMES
from r1interp.artifacts.shards import SCHEMA, read_table_stream, stream_sha256, with_stream_metadata
from r1interp.core.render import Example, render_example, tokenize_with_segments

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ShardConfig:
    template: str = "r1"
    instruction: str | None = None
    max_seq_len: int = 160
    train_tokens: int = 300_000
    eval_tokens: int = 30_000
    eval_fraction: float = 0.1
    seed: int = 0


def split_of(key: str, eval_fraction: float, seed: int) -> str:
    """Deterministic split from a hash of ``key`` (:func:`split_key`): stable across runs, machines and orderings."""
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < eval_fraction else "train"


def split_key(ex: Example) -> str:
    """What decides a document's split: its problem (a plain document: its text), whitespace-normalised.

    Why not its id: a corpus asks some problems more than once under different ids (the toy's small
    problem space often: 97 of the toy run's 361 eval documents were token-for-token copies of train
    documents), and split by id those copies land in both splits, so faithfulness measured on the
    eval shard was partly measured on training documents."""
    return " ".join((ex.question or ex.answer).split())


def encode_example(tokenizer, ex: Example, cfg: ShardConfig) -> tuple[np.ndarray, np.ndarray]:
    if ex.kind in ("general", "code") or (not ex.question and ex.think is None):
        text = (tokenizer.bos_token or "") + ex.answer  # plain text: no chat turns
        ids = np.asarray(tokenizer(text, add_special_tokens=False)["input_ids"][: cfg.max_seq_len], dtype=np.int32)
        return ids, np.full(len(ids), OTHER, dtype=np.int8)
    text, chars = render_example(tokenizer, ex, cfg.template, cfg.instruction)
    return tokenize_with_segments(tokenizer, text, chars, cfg.max_seq_len)


def build_shards(tokenizer, examples: Iterable[Example], cfg: ShardConfig) -> dict[str, pa.Table]:
    """Tokenise examples into train/eval tables until each split's token budget is reached."""
    budget = {"train": cfg.train_tokens, "eval": cfg.eval_tokens}
    rows: dict[str, dict[str, list]] = {s: {"doc_id": [], "kind": [], "input_ids": [], "segment": []} for s in budget}
    used = {s: 0 for s in budget}
    cut = {s: 0 for s in budget}  # documents that reached max_seq_len: their end (a trace's answer) is lost
    for doc_id, ex in enumerate(examples):
        split = split_of(split_key(ex), cfg.eval_fraction, cfg.seed)
        if used[split] >= budget[split]:
            if all(used[s] >= budget[s] for s in budget):
                break
            continue
        ids, segs = encode_example(tokenizer, ex, cfg)
        r = rows[split]
        r["doc_id"].append(doc_id)
        r["kind"].append(ex.kind)
        r["input_ids"].append(ids)
        r["segment"].append(segs)
        used[split] += len(ids)
        cut[split] += int(len(ids) == cfg.max_seq_len)
    for s in budget:
        by_kind: dict[str, int] = {}
        for kind, ids in zip(rows[s]["kind"], rows[s]["input_ids"]):
            by_kind[kind] = by_kind.get(kind, 0) + len(ids)
        seg = np.bincount(np.concatenate(rows[s]["segment"]).astype(np.int64), minlength=4) if rows[s]["segment"] else np.zeros(4, np.int64)
        log.info("%s: %d documents, %d tokens; by kind %s; by segment %s; %d documents cut at max_seq_len=%d",
                 s, len(rows[s]["doc_id"]), used[s], {k: f"{n} ({n / max(used[s], 1):.1%})" for k, n in sorted(by_kind.items())},
                 {name: int(seg[code]) for code, name in SEGMENT_NAMES.items() if code < len(seg)}, cut[s], cfg.max_seq_len)
        if not rows[s]["doc_id"]:
            raise ValueError(f"split {s!r} is empty: too few examples for eval_fraction={cfg.eval_fraction}")
    return {s: pa.table(rows[s], schema=SCHEMA) for s in budget}


def map_shard(table: pa.Table, tmap) -> pa.Table:
    """The base's reading of a reasoner shard: same rows, same segments, ids through ``tmap``."""
    mapped = pa.array([tmap.apply(np.asarray(ids, dtype=np.int32)).astype(np.int32) for ids in table.column("input_ids").to_pylist()],
                      type=pa.list_(pa.int32()))
    out = table.set_column(table.schema.get_field_index("input_ids"), "input_ids", mapped)
    stream = read_table_stream(table) or stream_sha256(table)
    return with_stream_metadata(out, stream, tmap.sha256())
