"""Faithfulness-vs-sparsity Pareto frontier and the documented selection rules.

Each grid point is summarised over the pilot layers by its mean CE increase (faithfulness, lower
is better) and mean L0 (sparsity, lower is better). Points whose mean dead-latent % is not under
``dead_target`` are set aside first (they would otherwise hide healthy points behind them); the
frontier is taken over the remaining points: a point is on it when no other healthy point is at
least as good on both axes and strictly better on one.

Selection rules (``sweep.selection.rule``), applied to the healthy points (the frontier is what
the plot draws; the tie-breaks may pick a point just off it, which is their purpose: with TopK,
L0 is k for every expansion, so two widths of one k differ only in CE, and the frontier alone
would always keep the wider one):
- ``min_ce``: the lowest mean CE increase; points within ``ce_tolerance`` nats of it are ties,
  broken by smaller L0, then smaller dictionary (``num_latents``).
- ``sparsest_under_ce``: among points with mean CE increase below ``ce_target``, the smallest L0,
  ties broken by smaller dictionary, then lower CE.
A point with a non-finite metric on any pilot layer (a diverged transcoder) is never healthy and
never selected: averaged over the layers that did not fail, it would look like a good point.
Fallbacks (recorded as ``fallback: true`` in selected.yaml): no healthy point → every point with
finite metrics; ``sparsest_under_ce`` with no point under ``ce_target`` → ``min_ce``. No point with
finite metrics at all is an error naming the points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RULES = ("min_ce", "sparsest_under_ce")


@dataclass(frozen=True)
class SelectionRule:
    rule: str = "min_ce"
    """min_ce (lowest CE increase among points under the dead target) or sparsest_under_ce."""
    ce_target: float = 0.1
    """CE-increase target in nats (sparsest_under_ce)."""
    dead_target: float = 10.0
    """Mean dead-latent percentage a point may have."""
    ce_tolerance: float = 0.005
    """CE differences (nats) below this are ties: smaller L0 wins, then the smaller dictionary."""

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"unknown selection rule {self.rule!r}; allowed: {RULES}")


def summarise_points(results: pd.DataFrame) -> pd.DataFrame:
    """Per-point means over pilot layers (``results`` has one row per point × layer)."""
    keys = ["point", "expansion_factor", "k", "lr", "skip_connection", "num_latents"]
    g = results.groupby("point", sort=True)
    agg = pd.DataFrame({  # NaN stays NaN: a layer that failed is not averaged away
        "ce_increase": g["ce_increase"].apply(lambda x: x.mean(skipna=False)),
        "ce_increase_max": g["ce_increase"].apply(lambda x: x.max(skipna=False)),
        "kl": g["kl"].apply(lambda x: x.mean(skipna=False)),
        "fvu": g["fvu"].apply(lambda x: x.mean(skipna=False)),
        "l0": g["l0"].apply(lambda x: x.mean(skipna=False)),
        "dead_pct": g["dead_pct"].apply(lambda x: x.mean(skipna=False)),
        "train_seconds": g["train_seconds"].first(),
    })
    meta = results.drop_duplicates("point").set_index("point")[keys[1:]]
    return meta.join(agg).reset_index()


METRICS = ("ce_increase", "l0", "dead_pct")
"""The summary metrics a point needs finite to be compared at all."""


def pareto_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where (x_i, y_i) is not dominated (both minimised)."""
    n = len(x)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        mask[i] = not dominated.any()
    return mask


def mark_frontier(points: pd.DataFrame, rule: SelectionRule) -> tuple[pd.DataFrame, bool]:
    """Add ``finite``, ``healthy``, ``pareto`` and ``candidate`` (what the rules choose from)
    columns; returns (frame, fallback_used)."""
    out = points.copy()
    out["finite"] = np.isfinite(out[list(METRICS)].to_numpy(dtype=np.float64)).all(axis=1)
    if not out["finite"].any():
        raise ValueError(f"no sweep point has finite {', '.join(METRICS)} on every pilot layer: {sorted(out['point'])}")
    out["healthy"] = out["finite"] & (out["dead_pct"] < rule.dead_target)
    out["candidate"] = out["healthy"] if out["healthy"].any() else out["finite"]
    out["pareto"] = False
    sub = out[out["candidate"]]
    out.loc[sub.index, "pareto"] = pareto_mask(sub["l0"].to_numpy(), sub["ce_increase"].to_numpy())
    return out, not bool(out["healthy"].any())


def select(points: pd.DataFrame, rule: SelectionRule) -> tuple[pd.Series, bool]:
    """Return (selected row, fallback_used); ``points`` must carry the ``candidate`` column."""
    if points.empty:
        raise ValueError("no sweep points to select from")
    pool = points[points["candidate"]]
    if rule.rule == "sparsest_under_ce":
        ok = pool[pool["ce_increase"] < rule.ce_target]
        if not ok.empty:
            return ok.sort_values(["l0", "num_latents", "ce_increase"], kind="stable").iloc[0], False
        return _min_ce(pool, rule.ce_tolerance), True
    return _min_ce(pool, rule.ce_tolerance), False


def _min_ce(df: pd.DataFrame, tol: float) -> pd.Series:
    best = df["ce_increase"].min()
    ties = df[df["ce_increase"] <= best + tol]
    return ties.sort_values(["l0", "num_latents", "ce_increase"], kind="stable").iloc[0]
