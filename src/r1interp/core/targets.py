"""The faithfulness targets a transcoder layer is flagged against.

On the floor because two stages state them: evaluate flags ``layers.parquet`` against them, and the
transcoders' model card prints the same numbers next to those flags.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Targets:
    """Faithfulness targets a layer is flagged against (config evaluate.targets:)."""

    ce: float = 0.1
    """Per-layer CE-increase target in nats (above: FAIL)."""
    ce_ideal: float = 0.05
    """CE increase in nats below which a layer is flagged ideal."""
    dead_pct: float = 10.0
    """Dead-latent percentage a layer may have (above: FAIL)."""
