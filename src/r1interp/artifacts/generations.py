"""Generations ``results/{model}/generations.parquet``: the one reader, and its trace view.

One row per (prompt, sample); the schema is in ``docs/architecture.md``. Graphs, heads and
patching read sample 0; heads, patching and modeldiff walk it as :class:`Trace` records.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from r1interp.artifacts.tables import ArtifactFileError, read_table

TRACE_GENERATION_COLUMNS = (
    "prompt_id",
    "category",
    "prompt_ids",
    "output_ids",
    "segment",
    "think_start",
    "think_end",
    "correct",
)


class GenerationsFileError(ArtifactFileError):
    """The generations table is missing or malformed; the message names the file and column."""


def read_generations(path, columns: tuple[str, ...], sample: int | None = 0) -> pd.DataFrame:
    """Read ``generations.parquet`` and check it has ``columns`` (the one reader for all stages).

    ``sample=0`` (default): the first sample of each prompt, one row per prompt (what a reader of
    the single-sample table expects); ``sample=None``: every sample. Files written before samples
    existed have no ``sample`` column and are read as sample 0; ``status`` is filled from
    ``correct`` there (``correct`` / ``incorrect``).
    """

    def fill(df: pd.DataFrame) -> pd.DataFrame:
        if "sample" not in df.columns:
            df["sample"] = 0
        if "status" not in df.columns and "correct" in df.columns:
            df["status"] = np.where(df["correct"].astype(bool), "correct", "incorrect")
        return df

    return read_table(path, columns, "generations file", None if sample is None else {"sample": sample},
                      GenerationsFileError, fill)


@dataclass(frozen=True)
class Trace:
    """One generated prompt+output sequence with its per-token segment codes."""

    prompt_id: str
    category: str
    correct: bool
    ids: np.ndarray  # int64 [T], prompt then output
    segment: np.ndarray  # int8 [T]
    prompt_len: int
    think_start: int
    think_end: int


def load_traces(path: str | Path, only_correct: bool = False) -> list[Trace]:
    """Read ``generations.parquet`` into :class:`Trace` records, validating the contract."""
    path = Path(path)
    df = read_generations(path, TRACE_GENERATION_COLUMNS)
    traces = []
    for row in df.itertuples(index=False):
        ids = np.concatenate([np.asarray(row.prompt_ids, dtype=np.int64), np.asarray(row.output_ids, dtype=np.int64)])
        seg = np.asarray(row.segment, dtype=np.int8)
        if len(seg) != len(ids):
            raise GenerationsFileError(
                f"{path}: prompt_id {row.prompt_id!r}: segment has {len(seg)} codes but prompt_ids+output_ids "
                f"has {len(ids)} tokens"
            )
        if only_correct and not bool(row.correct):
            continue
        traces.append(
            Trace(
                prompt_id=str(row.prompt_id),
                category=str(row.category),
                correct=bool(row.correct),
                ids=ids,
                segment=seg,
                prompt_len=len(row.prompt_ids),
                think_start=int(row.think_start),
                think_end=int(row.think_end),
            )
        )
    return traces
