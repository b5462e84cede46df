"""Reasoning-focus attention heads: which (layer, head) read the ``<think>`` trace while answering."""

from r1interp.utils import lazy_exports

# Lazy re-exports: the workflow imports this package at parse time (see lazy_exports).
_EXPORTS = {
    "answer_to_reasoning_attention": "scores",
    "rank_heads": "scores",
    "uniform_baseline": "scores",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["answer_to_reasoning_attention", "rank_heads", "uniform_baseline"]
