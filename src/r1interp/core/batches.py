"""Held-out evaluation batches from a token shard: one document per row, right-padded.

Why per document (not packed like training): evaluation reports loss per segment (``<think>``
vs answer) and greedy generations start from a document's prompt, so rows must be whole documents
with their per-token segment codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from r1interp.artifacts.shards import read_shard_lists


@dataclass
class EvalBatch:
    input_ids: Tensor  # [B, T] long, right-padded with 0
    attention_mask: Tensor  # [B, T] long
    segment: Tensor  # [B, T] long, -1 on padding

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


def load_eval_docs(shard: str | Path, max_tokens: int, max_len: int | None = None) -> list[dict]:
    """First documents of the eval shard up to ``max_tokens`` tokens (deterministic)."""
    data = read_shard_lists(shard, ("doc_id", "kind", "input_ids", "segment"))
    docs, total = [], 0
    for doc_id, kind, ids, seg in zip(data["doc_id"], data["kind"], data["input_ids"], data["segment"]):
        if max_len is not None:
            ids, seg = ids[:max_len], seg[:max_len]
        if len(ids) < 2:
            continue
        if len(seg) != len(ids):
            raise ValueError(f"{shard}: doc {doc_id} has {len(ids)} input_ids but {len(seg)} segment codes")
        docs.append({"doc_id": int(doc_id), "kind": kind, "input_ids": list(ids), "segment": list(seg)})
        total += len(ids)
        if total >= max_tokens:
            break
    if not docs:
        raise ValueError(f"{shard}: no document with at least 2 tokens")
    return docs


def make_batches(docs: list[dict], batch_size: int) -> Iterator[EvalBatch]:
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        T = max(len(d["input_ids"]) for d in chunk)
        ids = torch.zeros(len(chunk), T, dtype=torch.long)
        mask = torch.zeros(len(chunk), T, dtype=torch.long)
        seg = torch.full((len(chunk), T), -1, dtype=torch.long)
        for i, d in enumerate(chunk):
            n = len(d["input_ids"])
            ids[i, :n] = torch.tensor(d["input_ids"])
            mask[i, :n] = 1
            seg[i, :n] = torch.tensor(d["segment"])
        yield EvalBatch(ids, mask, seg)
