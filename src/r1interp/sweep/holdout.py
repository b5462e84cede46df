"""The sweep's selection split: a held-out slice of the *train* shard, never the eval shard.

Why: the evaluate stage reports faithfulness on the eval shard; a sweep that also selected on it
would report numbers on the data it was chosen on. The slice is carved from the train shard by a
seeded permutation of its documents (the data stage's files are unchanged), it is the same for
every grid point, and the point trains only on the rest of the shard. The training stage later
uses the whole train shard; the eval shard stays untouched by selection.

Why the size: a latent counts as dead when it never fires on the slice. A dictionary of n latents
at k active per token spends k·T firings on T tokens; if every latent fired equally often, a
fraction exp(-k·T/n) would still be unseen (≈ 20% for 196k latents, k=32, 10k tokens). Measuring on
T ≥ factor · n / k tokens (factor 10: exp(-10) ≈ 5e-5) does not punish wide dictionaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOLDOUT_SALT = 0x5EED_0FF5  # the slice does not move when the training shuffle seed is reused


def dead_tokens_needed(n_latents: int, k: int, factor: float = 10.0) -> int:
    """Tokens on which a uniformly-firing dictionary would leave ≈ exp(-factor) of latents unseen."""
    if n_latents < 1 or k < 1 or factor <= 0:
        raise ValueError(f"dead_tokens_needed needs n_latents, k >= 1 and factor > 0 (got {n_latents}, {k}, {factor})")
    return math.ceil(factor * n_latents / k)


def holdout_tokens(validation_tokens: int, d_in: int, max_expansion_per_k: float, factor: float, ce_tokens: int = 0) -> int:
    """Size of the slice: the configured floor, raised to what the widest grid point needs for its
    dead-latent count and to the ``ce_tokens`` CE/KL/FVU are measured on (its first tokens: a
    smaller slice measured them on fewer tokens than configured, without a word)."""
    return max(int(validation_tokens), int(ce_tokens), math.ceil(factor * d_in * max_expansion_per_k))


@dataclass(frozen=True)
class Holdout:
    train: list[int]  # document indices (shard order) the sweep trains on
    validation: list[int]  # document indices of the selection slice, in slice order
    validation_tokens: int


def split_holdout(lengths: list[int], min_tokens: int, seed: int, min_train_tokens: int = 1) -> Holdout:
    """Documents (seeded order) into the validation slice until it holds ``min_tokens`` tokens."""
    lengths = [int(n) for n in lengths]
    total = sum(lengths)
    order = np.random.default_rng([seed, HOLDOUT_SALT]).permutation(len(lengths))
    val, n_val = [], 0
    for i in order:
        if n_val >= min_tokens:
            break
        val.append(int(i))
        n_val += lengths[i]
    if n_val < min_tokens or total - n_val < min_train_tokens:
        raise ValueError(
            f"the train shard has {total} tokens: a validation slice of {min_tokens} tokens would leave "
            f"{max(0, total - n_val)} for training (need {min_train_tokens}); lower sweep.validation_tokens, sweep.eval_tokens, "
            "sweep.dead_tokens_factor or the widest grid point, or build a larger train shard"
        )
    chosen = set(val)
    return Holdout([i for i in range(len(lengths)) if i not in chosen], val, n_val)
