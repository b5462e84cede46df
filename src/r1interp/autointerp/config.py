"""The ``autointerp:`` config section as a dataclass.

Why a dataclass with a strict ``from_dict``: the CLI receives the section as JSON from the
Snakemake rule; an unknown or mistyped key must fail before any paid request, naming the key.
Defaults here mirror ``schemas/stages/autointerp.schema.yaml`` (a test checks they agree).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CLASSES = ("token-level", "domain", "reasoning", "uninterpretable")
PROMPT_VERSIONS = ("v1",)  # the versions autointerp.prompts can render
SELECTIONS = ("sample", "top")


PRICE_KEYS = ("input", "output", "cache_write", "cache_read")
# Anthropic's prompt-caching multipliers of the input price (5-minute cache): a write costs 1.25x,
# a read 0.1x. Used when a prices entry gives no explicit cache_write / cache_read.
CACHE_WRITE_FACTOR = 1.25
CACHE_READ_FACTOR = 0.1


def default_prices() -> dict[str, dict[str, float]]:
    """USD per million tokens for the models we expect to use (Anthropic list prices)."""
    return {
        "claude-haiku-4-5": {"input": 1.0, "output": 5.0, "cache_write": 1.25, "cache_read": 0.1},
        "claude-sonnet-4-5": {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.3},
        "claude-opus-4-5": {"input": 5.0, "output": 25.0, "cache_write": 6.25, "cache_read": 0.5},
    }


@dataclass(frozen=True)
class Prices:
    """USD per token of one model: plain input, output, cache write, cache read."""

    input: float
    output: float
    cache_write: float
    cache_read: float

    @classmethod
    def from_entry(cls, p: dict[str, float]) -> "Prices":
        i = float(p["input"])
        return cls(
            i / 1e6,
            float(p["output"]) / 1e6,
            float(p.get("cache_write", i * CACHE_WRITE_FACTOR)) / 1e6,
            float(p.get("cache_read", i * CACHE_READ_FACTOR)) / 1e6,
        )


@dataclass
class AutointerpConfig:
    # which Claude model labels and judges, and where to reach it (None: SDK default / env)
    llm_model: str = "claude-sonnet-4-5"
    base_url: str | None = None
    prompt_version: str = "v1"
    # feature selection per layer
    selection: str = "sample"  # "sample": seeded random sample; "top": most frequent first
    min_frequency: float = 0.001  # fraction of tokens a feature must be active on
    max_features_per_layer: int | None = 64  # None: every eligible feature
    # examples shown to the explainer and the judges
    n_examples: int = 15
    top_fraction: float = 0.6  # share of max-activating examples; the rest are quantile samples
    n_detection: int = 10  # half activating, half non-activating
    n_fuzzing: int = 10  # half correctly marked, half marked at random
    mark_threshold: float = 0.0  # mark tokens with act > threshold * example max (and > 0)
    scoring: bool = True
    # request handling
    concurrency: int = 8
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    timeout_s: float = 60.0
    max_tokens_explain: int = 400
    max_tokens_score: int = 200
    temperature: float | None = None  # None: omit (model default)
    # mark the shared instruction prefix (the system prompt) with cache_control; the API caches it
    # only above its minimum cacheable length (1024 tokens on Sonnet 4.5, 4096 on Haiku/Opus 4.5)
    prompt_caching: bool = True
    # money
    spend_cap_usd: float = 5.0
    budget_poll_s: float = 1.0  # a request that does not fit the cap re-checks this often while others are in flight
    prices: dict[str, dict[str, float]] = field(default_factory=default_prices)
    # Message Batches API for bulk runs
    use_batches: bool = False
    batch_poll_s: float = 30.0
    batch_price_factor: float = 0.5
    batch_max_wait_s: float = 86400.0
    seed: int = 0
    # label DB: store activations of every feature in the examples tables, not only selected ones
    db_all_features: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "AutointerpConfig":
        d = dict(d or {})
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"autointerp config: unknown key(s) {unknown}; allowed: {sorted(names)}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    @classmethod
    def from_json(cls, text: str | None = None, path: str | Path | None = None) -> "AutointerpConfig":
        if path is not None:
            text = Path(path).read_text()
        return cls.from_dict(json.loads(text) if text else {})

    def validate(self) -> None:
        def bad(key: str, why: str) -> ValueError:
            return ValueError(f"autointerp config: {key}={getattr(self, key)!r}: {why}")

        if self.prompt_version not in PROMPT_VERSIONS:
            raise bad("prompt_version", f"must be one of {sorted(PROMPT_VERSIONS)}")
        if self.selection not in SELECTIONS:
            raise bad("selection", f"must be one of {SELECTIONS}")
        if not 0.0 <= self.min_frequency <= 1.0:
            raise bad("min_frequency", "must be in [0, 1]")
        if self.max_features_per_layer is not None and self.max_features_per_layer < 0:
            raise bad("max_features_per_layer", "must be >= 0 or null")
        if not 1 <= self.n_examples <= 100:
            raise bad("n_examples", "must be in [1, 100]")
        if not 0.0 <= self.top_fraction <= 1.0:
            raise bad("top_fraction", "must be in [0, 1]")
        for key in ("n_detection", "n_fuzzing"):
            if getattr(self, key) < 2:
                raise bad(key, "must be >= 2 (one of each class)")
        if not 0.0 <= self.mark_threshold < 1.0:
            raise bad("mark_threshold", "must be in [0, 1)")
        for key in ("concurrency", "max_tokens_explain", "max_tokens_score"):
            if getattr(self, key) < 1:
                raise bad(key, "must be >= 1")
        if self.max_retries < 0:
            raise bad("max_retries", "must be >= 0")
        for key in ("backoff_base_s", "backoff_max_s", "spend_cap_usd", "batch_poll_s", "budget_poll_s"):
            if getattr(self, key) < 0:
                raise bad(key, "must be >= 0")
        for key in ("timeout_s", "batch_max_wait_s"):
            if getattr(self, key) <= 0:
                raise bad(key, "must be > 0")
        if not 0.0 < self.batch_price_factor <= 1.0:
            raise bad("batch_price_factor", "must be in (0, 1]")
        for model, p in self.prices.items():
            ok = isinstance(p, dict) and {"input", "output"} <= set(p) <= set(PRICE_KEYS)
            if not ok or any(not isinstance(v, (int, float)) or v < 0 for v in p.values()):
                raise ValueError(
                    f"autointerp config: prices[{model!r}]={p!r}: need 'input' and 'output' (optional "
                    f"'cache_write', 'cache_read'), each a number >= 0 (USD per million tokens)"
                )

    def price(self, llm_model: str | None = None) -> Prices:
        """USD per token of ``llm_model`` (default: the configured one); a missing price is an
        error because the spend cap cannot be enforced without it."""
        name = llm_model or self.llm_model
        if name not in self.prices:
            raise ValueError(
                f"autointerp config: no prices entry for llm_model={name!r} "
                f"(known: {sorted(self.prices)}); the spend cap needs it"
            )
        return Prices.from_entry(self.prices[name])
