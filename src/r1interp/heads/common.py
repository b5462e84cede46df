"""Helpers shared by the heads, patching and modeldiff analyses.

Why one place: all three read the same generations table, walk the same decoder layers and
write their artifacts the same way (atomically, so an interrupted job never leaves a file that
Snakemake would mistake for a finished output).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from r1interp.prompts.generate import GenerationsFileError, read_generations  # noqa: F401
from r1interp.utils import atomic_path

log = logging.getLogger(__name__)

GENERATION_COLUMNS = (
    "prompt_id",
    "category",
    "prompt_ids",
    "output_ids",
    "segment",
    "think_start",
    "think_end",
    "correct",
)


# --------------------------------------------------------------------------- atomic writes
def _atomic(path: str | Path, write) -> Path:
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return _atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def write_json(obj: Any, path: str | Path) -> Path:
    return _atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2, default=_json_default) + "\n"))


def write_figure(fig, path: str | Path, dpi: int = 120) -> Path:
    import matplotlib.pyplot as plt

    try:
        return _atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))
    finally:
        plt.close(fig)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# --------------------------------------------------------------------------- model access
def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks of an HF causal LM (``model.model.layers`` for Qwen2/Llama)."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    layers = getattr(decoder, "layers", None)
    if layers is None:
        raise TypeError(f"{type(model).__name__} has no decoder `.layers`; expected an HF Qwen2/Llama-style model")
    return layers


def hidden_of(output: Any) -> torch.Tensor:
    """A decoder layer's output hidden state (a tensor in transformers 4.57, a tuple before)."""
    return output if isinstance(output, torch.Tensor) else output[0]


def is_oom(err: BaseException) -> bool:
    """True for CUDA/CPU out-of-memory errors, which the analyses skip and log instead of dying."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------- generations
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
    df = read_generations(path, GENERATION_COLUMNS)
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


# --------------------------------------------------------------------------- CLI value parsers
def cli_int_at_least(lo: int):
    """argparse type: an integer >= ``lo`` (the error names the bound and the value)."""
    import argparse

    def parse(value: str) -> int:
        v = int(value)
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be >= {lo}, got {v}")
        return v

    return parse


def cli_bool(value: str) -> bool:
    """argparse type for ``--flag true|false`` (the rules pass every config boolean this way)."""
    import argparse

    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")
