"""Options of a sweep point's evaluation: the one place their defaults live (the schema's
``sweep:`` defaults equal them, tests/test_cli_config.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PointEval:
    """How one grid point is evaluated on the selection slice held out of the train shard."""

    validation_tokens: int = 20_000
    """Tokens held out of the train shard for selection (raised to ``eval_tokens`` and to what the widest grid point needs)."""
    dead_tokens_factor: float = 10.0
    """Dead latents are measured on >= factor x n_latents / k held-out tokens."""
    max_expansion_per_k: float | None = None
    """Max expansion_factor / k over the whole grid (sizes one slice for every point; none: this point's)."""
    eval_tokens: int = 30_000
    """Held-out tokens for CE/KL/FVU (the first of the selection slice)."""
    eval_max_len: int | None = None
    """Longest evaluation row in tokens (none: the documents' own lengths)."""
    eval_batch_size: int = 16
    """Rows per evaluation forward pass."""
    keep_weights: bool = False
    """Keep the point's transcoders in --work-dir (else they are deleted once the point is recorded)."""
