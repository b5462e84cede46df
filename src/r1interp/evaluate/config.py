"""Options of the evaluation commands: the one place their defaults live (the schema's
``evaluate:`` defaults equal them, tests/test_cli_config.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EvalData:
    """Which eval tokens the metrics read and how they are batched (config evaluate:)."""

    max_tokens: int = 30_000
    """Eval token budget: the first documents of the eval shard."""
    max_len: int | None = None
    """Truncate documents to this many tokens (none: no limit)."""
    batch_size: int = 16
    """Documents per forward pass."""


@dataclass(frozen=True)
class SideBySide:
    """Greedy generations with and without the transcoders, side by side (config evaluate.generations:)."""

    n_prompts: int = 4
    """Prompts (prefixes of eval documents) generated from."""
    max_new_tokens: int = 48
    """Generated tokens per prompt."""
