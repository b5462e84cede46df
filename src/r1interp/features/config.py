"""Settings of the activation-collection pass (the ``features:`` section of config.yaml).

Why every buffer size is a setting: device memory is ``n_layers × n_features × (per-feature
buffers)`` and never grows with the number of tokens, so these knobs alone decide whether a run
fits (see :func:`state_bytes_per_feature`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from r1interp.models import DTYPES as WINDOW_DTYPES  # example windows are stored in one of the model dtypes


@dataclass(frozen=True)
class FeatureConfig:
    split: str = "eval"  # which token shard the workflow feeds in (the CLI takes explicit paths)
    max_tokens: int = 0  # stop after this many model tokens (0: the whole corpus)
    batch_tokens: int = 4096  # padded tokens per model forward
    max_batch_seqs: int = 256  # chunks per forward at most (bounds the [chunks × features] buffers)
    max_seq_len: int = 1024  # longer documents are cut into chunks of this many tokens
    skip_first_tokens: int = 1  # first positions of every chunk (attention sink / BOS) count nowhere
    top_n: int = 20  # top-activating examples per feature (at most one per chunk)
    context_before: int = 24  # window tokens before the anchor token
    context_after: int = 8  # window tokens after the anchor token
    quantile_bins: int = 5  # equal-probability bins of the active-activation distribution
    quantile_per_bin: int = 4  # examples kept per bin
    reservoir_size: int = 40  # uniform reservoir of active (token, feature) occurrences per feature
    n_negative: int = 10  # windows where the feature is inactive, per feature
    negative_pool: int = 256  # shared reservoir of candidate windows the negatives are drawn from
    quantiles: tuple[float, ...] = (0.5, 0.9, 0.99)  # reported quantiles of active activations
    hist_bins: int = 80  # histogram slots per feature (slot 0 also holds the underflow)
    hist_bins_per_octave: int = 8  # log2 resolution of the histogram grid
    n_logits: int = 10  # top and bottom logit-lens tokens per feature
    window_dtype: str = "float16"  # storage dtype of the per-token window activations
    seed: int = 0

    def __post_init__(self) -> None:
        positive = ["batch_tokens", "max_batch_seqs", "max_seq_len", "top_n", "quantile_bins", "reservoir_size",
                    "hist_bins", "hist_bins_per_octave", "negative_pool"]
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"features.{name} must be >= 1, got {getattr(self, name)}")
        for name in ["max_tokens", "skip_first_tokens", "context_before", "context_after",
                     "quantile_per_bin", "n_negative", "n_logits", "seed"]:
            if getattr(self, name) < 0:
                raise ValueError(f"features.{name} must be >= 0, got {getattr(self, name)}")
        if self.skip_first_tokens >= self.max_seq_len:
            raise ValueError(f"features.skip_first_tokens ({self.skip_first_tokens}) must be < max_seq_len ({self.max_seq_len})")
        if self.max_seq_len > self.batch_tokens:
            raise ValueError(f"features.max_seq_len ({self.max_seq_len}) must be <= batch_tokens ({self.batch_tokens})")
        if self.window_dtype not in WINDOW_DTYPES:
            raise ValueError(f"features.window_dtype {self.window_dtype!r}; allowed: {sorted(WINDOW_DTYPES)}")
        bad = [q for q in self.quantiles if not 0.0 <= q <= 1.0]
        if bad:
            raise ValueError(f"features.quantiles must lie in [0, 1], got {bad}")
        object.__setattr__(self, "quantiles", tuple(float(q) for q in self.quantiles))

    @property
    def window(self) -> int:
        """Window length in tokens: before + anchor + after."""
        return self.context_before + 1 + self.context_after

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FeatureConfig":
        """Build from a config section; an unknown key fails naming it and the allowed keys."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise ValueError(f"features: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        d = dict(d)
        if "quantiles" in d:
            d["quantiles"] = tuple(d["quantiles"])
        return cls(**d)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["quantiles"] = list(self.quantiles)
        return d


def state_bytes_per_feature(cfg: FeatureConfig) -> int:
    """Device bytes of the streaming state per feature and layer; independent of token count.

    A layer adds ``negative_pool × window × k × 4`` bytes for the negative pool's feature sets.
    At the defaults this is ~6.3 kB, i.e. ~8.7 GB for 49,152 features × 28 layers.
    """
    w = torch.tensor([], dtype=WINDOW_DTYPES[cfg.window_dtype]).element_size() * cfg.window
    slot = 4 + 4 + 8 + 4 + 4 + 4 + w  # score, value, doc row, anchor pos, window start, length, window acts
    counters = 8 + 4 * 8 + 8 + 4 + 8  # count, 4 segment counts, sum, max, histogram top bin
    return counters + 8 * cfg.hist_bins + (cfg.top_n + cfg.reservoir_size) * slot
