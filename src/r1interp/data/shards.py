"""Token shards: chat-templated, segmented documents split deterministically into train/eval.

Schema (one row per document): ``doc_id:int64, kind:str, input_ids:list<int32>, segment:list<int8>``.

Parquet schema metadata: ``r1interp.stream_sha256`` names the *token stream* a shard holds (a hash of
the canonical rendering's ids and segments, see :func:`stream_sha256`). A base model's shards are its
reasoner's rows read through the pair's token map (:func:`map_shard`): the same stream, so they carry
the same hash, plus ``r1interp.token_map_sha256``. Transcoders record the hash of the stream they were
trained on, so two dictionaries of a pair can be checked to have read the same text.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from r1interp.data.render import Example, render_example, tokenize_with_segments
from r1interp.data.segments import OTHER

log = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [("doc_id", pa.int64()), ("kind", pa.string()), ("input_ids", pa.list_(pa.int32())), ("segment", pa.list_(pa.int8()))]
)


@dataclass(frozen=True)
class ShardConfig:
    template: str = "r1"
    instruction: str | None = None
    max_seq_len: int = 160
    train_tokens: int = 300_000
    eval_tokens: int = 30_000
    eval_fraction: float = 0.1
    seed: int = 0


def split_of(example_id: str, eval_fraction: float, seed: int) -> str:
    """Deterministic split from a hash of the id: stable across runs, machines and orderings."""
    h = hashlib.sha256(f"{seed}:{example_id}".encode()).digest()
    return "eval" if int.from_bytes(h[:8], "big") / 2**64 < eval_fraction else "train"


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
    for doc_id, ex in enumerate(examples):
        split = split_of(ex.id, cfg.eval_fraction, cfg.seed)
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
    for s in budget:
        log.info("%s: %d documents, %d tokens", s, len(rows[s]["doc_id"]), used[s])
        if not rows[s]["doc_id"]:
            raise ValueError(f"split {s!r} is empty: too few examples for eval_fraction={cfg.eval_fraction}")
    return {s: pa.table(rows[s], schema=SCHEMA) for s in budget}


STREAM_KEY = b"r1interp.stream_sha256"
TOKEN_MAP_KEY = b"r1interp.token_map_sha256"


def stream_sha256(table: pa.Table) -> str:
    """Hash of a shard's documents (ids and segments, in order): the identity of its token stream."""
    h = hashlib.sha256()
    for ids, segs in zip(table.column("input_ids").to_pylist(), table.column("segment").to_pylist()):
        h.update(np.asarray(ids, dtype=np.int32).tobytes())
        h.update(np.asarray(segs, dtype=np.int8).tobytes())
        h.update(b"|")
    return h.hexdigest()


def with_stream_metadata(table: pa.Table, stream: str, token_map: str | None = None) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[STREAM_KEY] = stream.encode()
    if token_map:
        meta[TOKEN_MAP_KEY] = token_map.encode()
    return table.replace_schema_metadata(meta)


def read_stream_hash(path: str | Path) -> str | None:
    """The ``stream_sha256`` a shard was written with (None for shards from before it existed)."""
    meta = pq.read_schema(path).metadata or {}
    value = meta.get(STREAM_KEY)
    return value.decode() if value else None


def map_shard(table: pa.Table, tmap) -> pa.Table:
    """The base's reading of a reasoner shard: same rows, same segments, ids through ``tmap``."""
    mapped = pa.array([tmap.apply(np.asarray(ids, dtype=np.int32)).astype(np.int32) for ids in table.column("input_ids").to_pylist()],
                      type=pa.list_(pa.int32()))
    out = table.set_column(table.schema.get_field_index("input_ids"), "input_ids", mapped)
    stream = read_table_stream(table) or stream_sha256(table)
    return with_stream_metadata(out, stream, tmap.sha256())


def read_table_stream(table: pa.Table) -> str | None:
    value = (table.schema.metadata or {}).get(STREAM_KEY)
    return value.decode() if value else None


def write_table(table: pa.Table, path: str | Path) -> None:
    """Atomic parquet write; a shard without a stream hash gets one here."""
    from r1interp.utils import atomic_path

    if read_table_stream(table) is None:
        table = with_stream_metadata(table, stream_sha256(table))
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, row_group_size=4096)


def read_docs(path: str | Path) -> list[np.ndarray]:
    """The ``input_ids`` of a shard as a list of arrays (what model training and eval consume)."""
    col = pq.read_table(path, columns=["input_ids"]).column("input_ids")
    return [np.asarray(x, dtype=np.int64) for x in col.to_pylist()]
