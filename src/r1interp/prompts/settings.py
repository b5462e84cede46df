"""Generation settings for the prompt set: greedy or seeded sampling, several samples per prompt.

Why sampling: DeepSeek recommends temperature 0.6, top-p 0.95 for the R1 distills (greedy
decoding loops on the 1.5B), and with several samples per prompt correctness becomes a rate.
Why seeds per (prompt, batch): a prompt's samples do not depend on which prompts ran before it,
so one prompt can be regenerated alone and gives the same tokens (same device and settings).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields
from typing import Any

from r1interp.utils import check_fields

LEGACY_MAX_NEW_TOKENS_KEY = "data.max_new_tokens"


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = 96
    """Generated tokens per sample; a trace that has not closed by then is ``unfinished``."""
    temperature: float = 0.0
    """0 = greedy (argmax); > 0 samples. DeepSeek's recommendation for R1: 0.6."""
    top_p: float = 1.0
    """Nucleus sampling mass (1 = off). DeepSeek's recommendation for R1: 0.95."""
    top_k: int = 0
    """Top-k filter (0 = off; transformers would otherwise apply its default of 50)."""
    n_samples: int = 1
    """Samples per prompt (rows ``sample`` = 0..n-1); > 1 needs temperature > 0."""
    seed: int = 0
    """Base seed; each prompt's batch is seeded from (seed, prompt id, first sample index)."""
    batch_size: int = 8
    """Samples of one prompt generated together (one ``generate`` call)."""

    def __post_init__(self) -> None:
        checks = {
            "max_new_tokens": self.max_new_tokens >= 1,
            "temperature": self.temperature >= 0,
            "top_p": 0 < self.top_p <= 1,
            "top_k": self.top_k >= 0,
            "n_samples": self.n_samples >= 1,
            "seed": self.seed >= 0,
            "batch_size": self.batch_size >= 1,
        }
        check_fields("generation settings", self, checks)
        if self.n_samples > 1 and self.greedy:
            raise ValueError(
                f"generation.n_samples={self.n_samples} with temperature 0 (greedy) repeats one sequence; "
                "set generation.temperature > 0 (R1: 0.6) or n_samples: 1"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def generate_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``model.generate`` (decoding only; ids and lengths come separately)."""
        if self.greedy:
            return {"do_sample": False}
        return {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p, "top_k": self.top_k}

    def to_flags(self) -> str:
        """CLI flags of ``python -m r1interp.prompts generate`` (used by rules/prompts.smk)."""
        return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in asdict(self).items())


def batch_seed(seed: int, prompt_id: str, first_sample: int) -> int:
    """Stable 63-bit seed of one prompt's batch of samples (independent of prompt order)."""
    digest = hashlib.sha256(f"{seed}\0{prompt_id}\0{first_sample}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def settings_from_config(config: dict) -> GenerationSettings:
    """The ``generation:`` section; ``data.max_new_tokens`` (the old key) is used when
    ``generation.max_new_tokens`` is not set. Unknown keys fail naming them."""
    section = dict(config.get("generation") or {})
    names = {f.name for f in fields(GenerationSettings)}
    unknown = sorted(set(section) - names)
    if unknown:
        raise ValueError(f"config generation: unknown keys {unknown}; allowed: {sorted(names)}")
    if section.get("max_new_tokens") is None:
        section.pop("max_new_tokens", None)
        legacy = (config.get("data") or {}).get("max_new_tokens")
        if legacy is not None:
            section["max_new_tokens"] = legacy
    try:
        return GenerationSettings(**section)
    except ValueError as e:
        raise ValueError(f"config generation: {e}") from e
