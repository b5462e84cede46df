"""Sweep stage: pilot-layer grid over transcoder hyper-parameters, Pareto selection.

See :mod:`r1interp.sweep.pareto` for the selection rules and :mod:`r1interp.sweep.grid` for the
grid and the pilot layers.
"""

from r1interp.utils import lazy_exports

# Lazy re-exports: the workflow imports this package at parse time (see lazy_exports).
_EXPORTS = {
    "SelectionRule": "pareto",
    "grid_points": "grid",
    "mark_frontier": "pareto",
    "pareto_mask": "pareto",
    "pilot_layers": "grid",
    "point_id": "grid",
    "select": "pareto",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["SelectionRule", "grid_points", "mark_frontier", "pareto_mask", "pilot_layers", "point_id", "select"]
