"""Reasoning-focus attention heads: which (layer, head) read the ``<think>`` trace while answering.

Also home of the helpers (``common``) that the ``patching`` and ``modeldiff`` analyses share.
"""

from r1interp.heads.scores import answer_to_reasoning_attention, rank_heads, uniform_baseline

__all__ = ["answer_to_reasoning_attention", "rank_heads", "uniform_baseline"]
