"""Sweep stage: pilot-layer grid over transcoder hyper-parameters, Pareto selection.

See :mod:`r1interp.sweep.pareto` for the selection rules and :mod:`r1interp.sweep.grid` for the
grid and the pilot layers.
"""

import importlib

# Lazy re-exports (PEP 562): the workflow imports light helpers from this package at parse time,
# and an eager import here would pull torch/pandas into every `snakemake` invocation.
_EXPORTS = {
    "SelectionRule": "pareto",
    "grid_points": "grid",
    "mark_frontier": "pareto",
    "pareto_mask": "pareto",
    "pilot_layers": "grid",
    "point_id": "grid",
    "select": "pareto",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"r1interp.sweep.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SelectionRule", "grid_points", "mark_frontier", "pareto_mask", "pilot_layers", "point_id", "select"]
