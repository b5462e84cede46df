"""Reasoning-focus attention heads: which (layer, head) read the ``<think>`` trace while answering.

Also home of the helpers (``common``) that the ``patching`` and ``modeldiff`` analyses share.
"""

import importlib

# Lazy re-exports (PEP 562): the workflow imports light helpers from this package at parse time,
# and an eager import here would pull torch/pandas into every `snakemake` invocation.
_EXPORTS = {
    "answer_to_reasoning_attention": "scores",
    "rank_heads": "scores",
    "uniform_baseline": "scores",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"r1interp.heads.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["answer_to_reasoning_attention", "rank_heads", "uniform_baseline"]
