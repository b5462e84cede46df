"""Sweep stage: pilot-layer grid over transcoder hyper-parameters, Pareto selection.

See :mod:`r1interp.sweep.pareto` for the selection rules and :mod:`r1interp.sweep.grid` for the
grid and the pilot layers.
"""

from r1interp.sweep.grid import grid_points, pilot_layers, point_id
from r1interp.sweep.pareto import SelectionRule, mark_frontier, pareto_mask, select

__all__ = ["SelectionRule", "grid_points", "mark_frontier", "pareto_mask", "pilot_layers", "point_id", "select"]
