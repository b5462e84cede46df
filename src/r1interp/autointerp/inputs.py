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

from r1interp.artifacts.features import FeatureTableError, check_table, read_feature_table

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


def read_stats(path: str | Path) -> pd.DataFrame:
    df = read_feature_table(path, STATS_COLUMNS)
    if df["feature_id"].duplicated().any():
        raise FeatureTableError(f"{path}: duplicate feature_id values")
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
    """Examples per feature (only ``feature_ids`` when given), ordered by kind (as in ``KINDS``: top
    first — not alphabetically, which put them last), bin and rank."""
    check_table(path, EXAMPLE_COLUMNS)
    if feature_ids is not None and not feature_ids:
        return {}
    df = read_feature_table(path, EXAMPLE_COLUMNS, list(EXAMPLE_COLUMNS), feature_ids)
    bad = sorted(set(df["kind"]) - set(KINDS))
    if bad:
        raise FeatureTableError(f"{path}: column 'kind' has unknown values {bad}; allowed {KINDS}")
    df = df.assign(kind_order=df["kind"].map(KINDS.index)).sort_values(["feature_id", "kind_order", "quantile_bin", "rank"], kind="stable")
    out: dict[int, list[Example]] = {}
    for row in df.itertuples(index=False):
        toks, acts = tuple(str(t) for t in row.tokens), tuple(float(a) for a in row.acts)
        if len(toks) != len(acts) or len(toks) != len(row.token_ids):
            raise FeatureTableError(
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
