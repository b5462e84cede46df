"""The cost plan of a run: tokens, FLOPs, GPU-hours and dollars per stage from the configuration.

- :mod:`.dims`: model and dictionary widths from local model configs and the sweep (no weights).
- :mod:`.flops`: the FLOP model (pure, written out in its docstring).
- :mod:`.plan`: per-stage table, throughput (measured or stated), seed-estimate comparison.

``python -m r1interp.costplan --configfile config/r1-distill-qwen-1.5b.yaml`` prints the table.
"""

from r1interp.costplan.plan import Plan, StageCost, build_plan, plan_markdown

__all__ = ["Plan", "StageCost", "build_plan", "plan_markdown"]
