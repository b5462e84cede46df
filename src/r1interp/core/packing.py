"""Token shards → the fixed-length ``input_ids`` dataset that sparsify's Trainer consumes.

Why packing: sparsify's Trainer batches rows with the default collate (rows must share a length)
and does not shuffle (resume skips ``global_step * batch_size`` rows), so the dataset must be a
deterministic, pre-shuffled ``datasets.Dataset`` of equal-length rows — the same layout as
``sparsify.data.chunk_and_tokenize``: documents concatenated, then cut into ``seq_len`` rows.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from r1interp.artifacts.shards import read_shard_lists

log = logging.getLogger(__name__)

def pack_rows(docs: list[list[int]], seq_len: int, n_rows: int, seed: int) -> np.ndarray:
    """Concatenate shuffled documents into ``[n_rows, seq_len]``; repeat epochs if needed.

    Each epoch uses a fresh document order (seeded), so a budget larger than the shard sees the
    documents in different packings rather than the identical rows again.
    """
    total = sum(len(d) for d in docs)
    if total < seq_len:
        raise ValueError(f"shard has {total} tokens, fewer than one row of seq_len={seq_len}")
    rng = np.random.default_rng(seed)
    rows: list[np.ndarray] = []
    epoch = 0
    while len(rows) < n_rows:
        order = rng.permutation(len(docs))
        stream = np.concatenate([np.asarray(docs[i], dtype=np.int64) for i in order])
        n = len(stream) // seq_len
        rows.extend(stream[: n * seq_len].reshape(n, seq_len))
        epoch += 1
    if epoch > 1:
        log.warning("token budget needs %d passes over the shard (%d tokens)", epoch, total)
    out = np.stack(rows[:n_rows])
    return out[rng.permutation(len(out))]


def packed_dataset(shard: str | Path, seq_len: int, n_rows: int, seed: int):
    """HF ``datasets.Dataset`` with a torch-formatted ``input_ids`` column of ``[seq_len]`` rows."""
    from datasets import Dataset

    docs = read_shard_lists(shard)["input_ids"]
    rows = pack_rows(docs, seq_len, n_rows, seed)
    return Dataset.from_dict({"input_ids": rows.tolist()}).with_format("torch")
