"""Read the features stage's tables and pick which features to label.

Why filtered reads: an examples table of a real layer holds ~49k features × dozens of windows;
only the selected features' rows are read (pyarrow filter), so memory follows the selection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from .config import AutointerpConfig

log = logging.getLogger(__name__)

STATS_COLUMNS = (
    "feature_id",
    "frac_active",
    "max_act",
    "mean_act",
    "top_logits",
    "top_logit_values",
    "bottom_logits",
    "bottom_logit_values",
)
SEGMENT_COLUMNS = ("frac_active_prompt", "frac_active_think", "frac_active_answer", "frac_active_other")
EXAMPLE_COLUMNS = (
    "feature_id",
    "kind",
    "quantile_bin",
    "rank",
    "doc_id",
    "start",
    "token_ids",
    "tokens",
    "acts",
    "max_idx",
    "act_max",
)
KINDS = ("top", "quantile", "negative")


class InputTableError(ValueError):
    """A features table is missing or lacks a column; the message names the file."""


@dataclass(frozen=True)
class Example:
    """One context window of one feature."""

    kind: str  # top | quantile | negative
    quantile_bin: int
    rank: int
    doc_id: int
    start: int
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    acts: tuple[float, ...]

    @property
    def max_act(self) -> float:
        return max(self.acts) if self.acts else 0.0


def check_columns(path: str | Path, required: tuple[str, ...]) -> None:
    path = Path(path)
    if not path.is_file():
        raise InputTableError(f"{path}: file not found")
    try:
        names = set(pq.read_schema(path).names)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
        raise InputTableError(f"{path}: not a readable parquet file ({e})") from e
    missing = [c for c in required if c not in names]
    if missing:
        raise InputTableError(f"{path}: missing column(s) {missing}")


def read_stats(path: str | Path) -> pd.DataFrame:
    check_columns(path, STATS_COLUMNS)
    df = pq.read_table(path).to_pandas()
    if df["feature_id"].duplicated().any():
        raise InputTableError(f"{path}: duplicate feature_id values")
    df.index = df["feature_id"].to_numpy(dtype="int64")  # look up by id; the column stays unambiguous
    return df.sort_index()


def select_features(stats: pd.DataFrame, cfg: AutointerpConfig, layer: int) -> list[int]:
    """Features active on at least ``min_frequency`` of tokens, capped per layer by a seeded
    sample (unbiased over frequencies) or by frequency rank; sorted ids."""
    ok = stats[(stats["frac_active"] >= cfg.min_frequency) & (stats["max_act"] > 0)]
    ids = np.sort(ok["feature_id"].to_numpy(dtype=np.int64))
    cap = cfg.max_features_per_layer
    if cap is None or len(ids) <= cap:
        return [int(i) for i in ids]
    if cfg.selection == "top":
        order = ok.sort_values(["frac_active", "feature_id"], ascending=[False, True])
        return sorted(int(i) for i in order["feature_id"].to_numpy()[:cap])
    rng = np.random.default_rng([cfg.seed, layer])
    return sorted(int(i) for i in rng.choice(ids, size=cap, replace=False))


def read_examples(path: str | Path, feature_ids: list[int] | None) -> dict[int, list[Example]]:
    """Examples per feature (only ``feature_ids`` when given), ordered by kind, bin and rank."""
    check_columns(path, EXAMPLE_COLUMNS)
    filters = [("feature_id", "in", [int(f) for f in feature_ids])] if feature_ids is not None else None
    if feature_ids is not None and not feature_ids:
        return {}
    df = pq.read_table(path, columns=list(EXAMPLE_COLUMNS), filters=filters).to_pandas()
    bad = sorted(set(df["kind"]) - set(KINDS))
    if bad:
        raise InputTableError(f"{path}: column 'kind' has unknown values {bad}; allowed {KINDS}")
    df = df.sort_values(["feature_id", "kind", "quantile_bin", "rank"], kind="stable")
    out: dict[int, list[Example]] = {}
    for row in df.itertuples(index=False):
        toks, acts = tuple(str(t) for t in row.tokens), tuple(float(a) for a in row.acts)
        if len(toks) != len(acts) or len(toks) != len(row.token_ids):
            raise InputTableError(
                f"{path}: feature {row.feature_id} {row.kind} rank {row.rank}: "
                f"tokens/acts/token_ids lengths differ ({len(toks)}/{len(acts)}/{len(row.token_ids)})"
            )
        out.setdefault(int(row.feature_id), []).append(
            Example(
                kind=str(row.kind),
                quantile_bin=int(row.quantile_bin),
                rank=int(row.rank),
                doc_id=int(row.doc_id),
                start=int(row.start),
                token_ids=tuple(int(t) for t in row.token_ids),
                tokens=toks,
                acts=acts,
            )
        )
    return out
