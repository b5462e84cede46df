"""Cost-plan stage: tokens, FLOPs, GPU-hours and dollars per stage from the configuration.

The model is in the floor, because the report and the guardrails read it too:
:mod:`r1interp.core.dims` (model and dictionary widths from local model configs and the sweep, no
weights), :mod:`r1interp.core.flops` (the FLOP model) and :mod:`r1interp.core.costplan` (per-stage
table, throughput, seed-estimate comparison).

``python -m r1interp.costplan --configfile config/r1-distill-qwen-1.5b.yaml`` prints the table.
"""
