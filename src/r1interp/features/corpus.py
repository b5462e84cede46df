"""The token corpus of the pass: documents held as one flat array, cut into chunks and batches.

Why flat arrays: 100M tokens are 400 MB as int32 (vs. gigabytes as Python lists), and the final
tables need random access to any document's tokens to cut example windows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r1interp.artifacts.shards import ShardFileError, read_shard

SHARD_COLUMNS = ("doc_id", "input_ids", "segment")


class CorpusError(ValueError):
    """A token shard is missing or malformed; the message names the file and column."""


@dataclass(frozen=True)
class Corpus:
    doc_ids: np.ndarray  # int64 [D]
    offsets: np.ndarray  # int64 [D+1]: document d is tokens[offsets[d]:offsets[d+1]]
    tokens: np.ndarray  # int32 [n_tokens]
    segments: np.ndarray  # int8 [n_tokens], codes of r1interp.artifacts.segments

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_tokens(self) -> int:
        return int(self.offsets[-1])

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @classmethod
    def from_lists(cls, doc_ids: Sequence[int], input_ids: Sequence[Sequence[int]],
                   segments: Sequence[Sequence[int]] | None = None) -> "Corpus":
        lengths = np.array([len(x) for x in input_ids], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = np.concatenate([np.asarray(x, dtype=np.int32) for x in input_ids]) if len(input_ids) else np.zeros(0, np.int32)
        if segments is None:
            segs = np.zeros(len(tokens), dtype=np.int8)
        else:
            segs = np.concatenate([np.asarray(s, dtype=np.int8) for s in segments]) if len(segments) else np.zeros(0, np.int8)
        if len(segs) != len(tokens):
            raise CorpusError("segment lists do not match input_ids lengths")
        return cls(np.asarray(doc_ids, dtype=np.int64), offsets, tokens, segs)

    @classmethod
    def from_parquet(cls, paths: Sequence[str | Path]) -> "Corpus":
        """Read token shards (``doc_id, input_ids, segment``); checks columns and lengths."""
        parts = []
        for path in paths:
            try:
                table = read_shard(path, SHARD_COLUMNS)
            except ShardFileError as e:
                raise CorpusError(str(e)) from None
            ids, segs = table.column("input_ids").combine_chunks(), table.column("segment").combine_chunks()
            id_len = np.diff(ids.offsets.to_numpy())
            seg_vals = segs.values.to_numpy(zero_copy_only=False).astype(np.int8)
            start, stop = ids.offsets[0].as_py(), ids.offsets[-1].as_py()
            parts.append((table.column("doc_id").to_numpy().astype(np.int64), id_len.astype(np.int64),
                          ids.values.to_numpy(zero_copy_only=False)[start:stop].astype(np.int32),
                          seg_vals[segs.offsets[0].as_py():segs.offsets[-1].as_py()]))
        doc_ids = np.concatenate([p[0] for p in parts])
        lengths = np.concatenate([p[1] for p in parts])
        return cls(doc_ids, np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
                   np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]))


@dataclass(frozen=True)
class Batch:
    """Right-padded chunks: ``input_ids``/``segment`` ``[B, T]``; chunk ``i`` is document row
    ``rows[i]`` from token ``starts[i]``, ``lengths[i]`` tokens long."""

    input_ids: np.ndarray
    segment: np.ndarray
    rows: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray

    @property
    def n_tokens(self) -> int:
        return int(self.lengths.sum())


def chunks(corpus: Corpus, max_seq_len: int, min_len: int = 1, max_tokens: int = 0) -> np.ndarray:
    """``[C, 3]`` (row, start, length) chunks in corpus order, at most ``max_tokens`` tokens in all.

    Chunks shorter than ``min_len`` are dropped (they would hold no counted token).
    """
    out = []
    used = 0
    for row, n in enumerate(corpus.lengths()):
        for start in range(0, int(n), max_seq_len):
            length = min(max_seq_len, int(n) - start)
            if max_tokens:
                length = min(length, max_tokens - used)
            if length >= min_len:
                out.append((row, start, length))
                used += length
            if max_tokens and used >= max_tokens:
                return np.asarray(out, dtype=np.int64).reshape(-1, 3)
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


def batches(corpus: Corpus, chunk_table: np.ndarray, batch_tokens: int, max_seqs: int = 1 << 30,
            pad_id: int = 0) -> Iterator[Batch]:
    """Pack chunks longest-first into batches of at most ``batch_tokens`` padded tokens."""
    order = np.argsort(-chunk_table[:, 2], kind="stable")
    i = 0
    while i < len(order):
        width = int(chunk_table[order[i], 2])
        n = max(1, min(max_seqs, batch_tokens // width))
        sel = chunk_table[order[i:i + n]]
        i += n
        ids = np.full((len(sel), width), pad_id, dtype=np.int64)
        seg = np.zeros((len(sel), width), dtype=np.int64)
        for j, (row, start, length) in enumerate(sel):
            a = corpus.offsets[row] + start
            ids[j, :length] = corpus.tokens[a:a + length]
            seg[j, :length] = corpus.segments[a:a + length]
        yield Batch(ids, seg, sel[:, 0].copy(), sel[:, 1].copy(), sel[:, 2].copy())


def window_tokens(corpus: Corpus, rows: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat token ids of many windows and their list offsets (for an Arrow ListArray)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    base = corpus.offsets[np.asarray(rows, dtype=np.int64)] + np.asarray(starts, dtype=np.int64)
    within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
    return corpus.tokens[np.repeat(base, lengths) + within], offsets
