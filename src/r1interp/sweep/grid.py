"""Sweep grid and pilot layers (pure; the Snakemake rules expand jobs from these).

Why pilot layers spread like 2/14/26 of 28: an early, a middle and a late MLP behave differently
(early MLPs are near-linear token detectors, late ones write to the unembedding), so a config that
is good on all three is a safe choice for every layer.
"""

from __future__ import annotations

import itertools
from typing import Any

PILOT_FRACTIONS = (2 / 28, 14 / 28, 26 / 28)


def pilot_layers(n_layers: int, spec: str | list[int] = "auto") -> list[int]:
    """``"auto"`` → the 2/14/26-of-28 spread scaled to ``n_layers``; a list is validated."""
    if spec == "auto":
        return sorted({min(n_layers - 1, max(0, round(f * n_layers))) for f in PILOT_FRACTIONS})
    if not isinstance(spec, list) or not spec:
        raise ValueError(f"sweep layers must be 'auto' or a non-empty list of ints, got {spec!r}")
    bad = [x for x in spec if not isinstance(x, int) or not 0 <= x < n_layers]
    if bad:
        raise ValueError(f"sweep layers {bad} outside 0..{n_layers - 1}")
    return sorted(set(spec))


def _fmt_lr(lr: float | None) -> str:
    return "auto" if lr is None else f"{lr:g}"


def point_id(p: dict[str, Any]) -> str:
    """File-name-safe id of a grid point, e.g. ``e8_k16_lrauto_skip1``."""
    return f"e{p['expansion_factor']}_k{p['k']}_lr{_fmt_lr(p['lr'])}_skip{int(bool(p['skip_connection']))}"


def grid_points(grid: dict[str, list]) -> dict[str, dict[str, Any]]:
    """Cartesian product of the grid lists → ``{point_id: {expansion_factor, k, lr, skip_connection}}``."""
    keys = ("expansion_factor", "k", "lr", "skip_connection")
    values = {
        "expansion_factor": list(grid.get("expansion_factor", [8])),
        "k": list(grid.get("k", [16])),
        "lr": list(grid.get("lr", [None])),
        "skip_connection": list(grid.get("skip_connection", [True])),
    }
    empty = [k for k, v in values.items() if not v]
    if empty:
        raise ValueError(f"sweep grid lists {empty} are empty")
    points = {}
    for combo in itertools.product(*(values[k] for k in keys)):
        p = dict(zip(keys, combo))
        points[point_id(p)] = p
    return points


def max_expansion_per_k(grid: dict[str, list]) -> float:
    """The widest latents-per-active ratio of the grid (max expansion_factor / k over its points).

    Sizes the selection slice once for every point (every point then holds out the same documents).
    """
    return max(p["expansion_factor"] / p["k"] for p in grid_points(grid).values())
