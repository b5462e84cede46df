"""Evaluation stage: faithfulness of skip transcoders spliced into the model in place of its MLPs.

Per layer (one MLP replaced), all layers at once (the replacement model), per segment, and a
qualitative side-by-side of greedy generations. The metrics live in :mod:`r1interp.core.metrics`
(shared with the sweep).
"""
