"""Token shards ``results/{model}/data/{split}.parquet``: the one reader and the one writer.

Schema (one row per document): ``doc_id:int64, kind:str, input_ids:list<int32>, segment:list<int8>``
(segment codes in :mod:`r1interp.artifacts.segments`). Parquet schema metadata
``r1interp.stream_sha256`` names the *token stream* a shard holds (:func:`stream_sha256`); a base's
shards are its reasoner's rows read through the pair's token map, so they carry the same hash, plus
``r1interp.token_map_sha256``. Transcoders record the hash of the stream they were trained on.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from r1interp.artifacts.segments import SEGMENT_NAMES
from r1interp.artifacts.write import write_parquet

SCHEMA = pa.schema(
    [("doc_id", pa.int64()), ("kind", pa.string()), ("input_ids", pa.list_(pa.int32())), ("segment", pa.list_(pa.int8()))]
)
SHARD_COLUMNS = tuple(SCHEMA.names)
STREAM_KEY = b"r1interp.stream_sha256"
TOKEN_MAP_KEY = b"r1interp.token_map_sha256"


class ShardFileError(ValueError):
    """A token shard that breaks the contract (the message names the file and what is wrong)."""


class ShardNotFoundError(ShardFileError, FileNotFoundError):
    pass


def read_shard(path: str | Path, columns: tuple[str, ...] = ("input_ids",)) -> pa.Table:
    """The columns of a token shard, checked: the file exists, has the columns and rows, and (when both
    are read) every document has one segment code in range per token."""
    path = Path(path)
    if not path.is_file():
        raise ShardNotFoundError(f"token shard not found: {path}")
    names = pq.read_schema(path).names
    missing = [c for c in columns if c not in names]
    if missing:
        raise ShardFileError(f"token shard {path}: missing column(s) {missing}; has {sorted(names)}")
    table = pq.read_table(path, columns=list(columns))
    if table.num_rows == 0:
        raise ShardFileError(f"token shard {path} has no rows")
    if "input_ids" in columns and "segment" in columns:
        ids, segs = table.column("input_ids").combine_chunks(), table.column("segment").combine_chunks()
        if not np.array_equal(np.diff(ids.offsets.to_numpy()), np.diff(segs.offsets.to_numpy())):
            raise ShardFileError(f"token shard {path}: 'segment' and 'input_ids' lengths differ in some rows")
        codes = segs.values.to_numpy(zero_copy_only=False)[segs.offsets[0].as_py():segs.offsets[-1].as_py()]
        if codes.size and (codes.min() < min(SEGMENT_NAMES) or codes.max() > max(SEGMENT_NAMES)):
            raise ShardFileError(f"token shard {path}: 'segment' codes must be in {min(SEGMENT_NAMES)}..{max(SEGMENT_NAMES)}, "
                                 f"found {codes.min()}..{codes.max()}")
    return table


def read_shard_lists(path: str | Path, columns: tuple[str, ...] = ("input_ids",)) -> dict[str, list]:
    """:func:`read_shard` as plain Python lists per column."""
    table = read_shard(path, columns)
    return {c: table.column(c).to_pylist() for c in columns}


def read_docs(path: str | Path) -> list[np.ndarray]:
    """The ``input_ids`` of a shard as int64 arrays (what model training and eval consume)."""
    return [np.asarray(x, dtype=np.int64) for x in read_shard_lists(path)["input_ids"]]


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
    value = (pq.read_schema(path).metadata or {}).get(STREAM_KEY)
    return value.decode() if value else None


def read_table_stream(table: pa.Table) -> str | None:
    value = (table.schema.metadata or {}).get(STREAM_KEY)
    return value.decode() if value else None


def write_shard(table: pa.Table, path: str | Path) -> None:
    """Atomic parquet write; a shard without a stream hash gets one here."""
    if read_table_stream(table) is None:
        table = with_stream_metadata(table, stream_sha256(table))
    write_parquet(table, path, row_group_size=4096)
