"""Evaluation stage: faithfulness of skip transcoders spliced into the model in place of its MLPs.

Per layer (one MLP replaced), all layers at once (the replacement model), per segment, and a
qualitative side-by-side of greedy generations. See :mod:`r1interp.evaluate.metrics` for the
metric definitions.
"""

from r1interp.evaluate.hooks import capture_mlp_io, replace_mlp, replace_mlps
from r1interp.evaluate.metrics import evaluate_full, evaluate_layer

__all__ = ["capture_mlp_io", "evaluate_full", "evaluate_layer", "replace_mlp", "replace_mlps"]
