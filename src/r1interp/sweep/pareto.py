"""Faithfulness-vs-sparsity Pareto frontier and the documented selection rules.

Each grid point is summarised over the pilot layers by its mean CE increase (faithfulness, lower
is better) and mean L0 (sparsity, lower is better). Points whose mean dead-latent % is not under
``dead_target`` are set aside first (they would otherwise hide healthy points behind them); the
frontier is taken over the remaining points: a point is on it when no other healthy point is at
least as good on both axes and strictly better on one.

Selection rules (``sweep.selection.rule``), applied to the frontier:
- ``min_ce``: the lowest mean CE increase; points within ``ce_tolerance`` nats of it are ties,
  broken by smaller L0, then smaller dictionary (``num_latents``).
- ``sparsest_under_ce``: among frontier points with mean CE increase below ``ce_target``, the
  smallest L0, ties broken by smaller dictionary, then lower CE.
Fallbacks (recorded as ``fallback: true`` in selected.yaml): no healthy point → the frontier of all
points; ``sparsest_under_ce`` with no point under ``ce_target`` → ``min_ce``.
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
    agg = results.groupby("point", sort=True).agg(
        ce_increase=("ce_increase", "mean"),
        ce_increase_max=("ce_increase", "max"),
        kl=("kl", "mean"),
        fvu=("fvu", "mean"),
        l0=("l0", "mean"),
        dead_pct=("dead_pct", "mean"),
        train_seconds=("train_seconds", "first"),
    )
    meta = results.drop_duplicates("point").set_index("point")[keys[1:]]
    return meta.join(agg).reset_index()


def pareto_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where (x_i, y_i) is not dominated (both minimised)."""
    n = len(x)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = (x <= x[i]) & (y <= y[i]) & ((x < x[i]) | (y < y[i]))
        mask[i] = not dominated.any()
    return mask


def mark_frontier(points: pd.DataFrame, rule: SelectionRule) -> tuple[pd.DataFrame, bool]:
    """Add ``healthy`` and ``pareto`` columns; returns (frame, fallback_used)."""
    out = points.copy()
    out["healthy"] = out["dead_pct"] < rule.dead_target
    pool = out["healthy"] if out["healthy"].any() else pd.Series(True, index=out.index)
    out["pareto"] = False
    sub = out[pool]
    out.loc[sub.index, "pareto"] = pareto_mask(sub["l0"].to_numpy(), sub["ce_increase"].to_numpy())
    return out, not bool(out["healthy"].any())


def select(points: pd.DataFrame, rule: SelectionRule) -> tuple[pd.Series, bool]:
    """Return (selected row, fallback_used); ``points`` must carry the ``pareto`` column."""
    if points.empty:
        raise ValueError("no sweep points to select from")
    front = points[points["pareto"]]
    if rule.rule == "sparsest_under_ce":
        ok = front[front["ce_increase"] < rule.ce_target]
        if not ok.empty:
            return ok.sort_values(["l0", "num_latents", "ce_increase"], kind="stable").iloc[0], False
        return _min_ce(front, rule.ce_tolerance), True
    return _min_ce(front, rule.ce_tolerance), False


def _min_ce(df: pd.DataFrame, tol: float) -> pd.Series:
    best = df["ce_increase"].min()
    ties = df[df["ce_increase"] <= best + tol]
    return ties.sort_values(["l0", "num_latents", "ce_increase"], kind="stable").iloc[0]
