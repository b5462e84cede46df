"""The ``motifs:`` config section as frozen dataclasses, validated with messages naming the key.

Defaults here equal the defaults in ``schemas/stages/motifs.schema.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from r1interp.motifs.loader import Threshold
from r1interp.motifs.nulls import NULL_MODELS, SIGN_MODES
from r1interp.motifs.signed import GapLimits


class MotifsConfigError(ValueError):
    """A ``motifs`` config value is wrong; the message names the key."""


@dataclass(frozen=True)
class NullConfig:
    """Null ensemble for the unsigned triad census. Default ``layer_configuration``: attribution graphs
    are layered DAGs, and the plain ``configuration`` null (circuit-motifs' default, kept for
    compatibility) rewires them into graphs with cycles and mutual edges, so its Z-scores mostly
    measure acyclicity."""

    model: str = "layer_configuration"
    n_samples: int = 1000


@dataclass(frozen=True)
class SignedConfig:
    """Signed motifs and their null (layer-pair configuration with shuffled signs by default:
    the wiring statistics stay, only the sign arrangement is randomised)."""

    enabled: bool = True
    null_model: str = "layer_configuration"
    sign_mode: str = "shuffle"
    n_samples: int = 1000
    min_layer_gap: int = 1
    max_layer_gap: int | None = None

    @property
    def gaps(self) -> GapLimits:
        return GapLimits(self.min_layer_gap, self.max_layer_gap)


@dataclass(frozen=True)
class Size4Config:
    """Size-4 census (igraph ``motifs_randesu``, per sample: slow, so off by default)."""

    enabled: bool = False
    n_samples: int = 100
    null_model: str = "configuration"


@dataclass(frozen=True)
class MotifsConfig:
    threshold: Threshold = field(default_factory=Threshold)
    include_errors: bool = False
    triad_null: NullConfig = field(default_factory=NullConfig)
    signed: SignedConfig = field(default_factory=SignedConfig)
    size4: Size4Config = field(default_factory=Size4Config)
    ffl_top_k: int = 50
    n_stages: int = 3
    memory_mb: int = 64

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, prefix: str = "motifs") -> "MotifsConfig":
        data = dict(data or {})
        sub = {"threshold": Threshold, "triad_null": NullConfig, "signed": SignedConfig, "size4": Size4Config}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in {f.name for f in fields(cls)}:
                raise MotifsConfigError(f"{prefix}.{key}: unknown key; allowed: {sorted(f.name for f in fields(cls))}")
            kwargs[key] = _build(sub[key], value, f"{prefix}.{key}") if key in sub else value
        try:
            cfg = cls(**kwargs)
        except ValueError as e:
            raise MotifsConfigError(f"{prefix}: {e}") from None
        cfg.check(prefix)
        return cfg

    def check(self, prefix: str = "motifs") -> None:
        def need(ok: bool, key: str, what: str) -> None:
            if not ok:
                raise MotifsConfigError(f"{prefix}.{key}: {what}")

        need(self.triad_null.model in NULL_MODELS, "triad_null.model", f"{self.triad_null.model!r} is not one of {NULL_MODELS}")
        need(self.signed.null_model in NULL_MODELS, "signed.null_model", f"{self.signed.null_model!r} is not one of {NULL_MODELS}")
        need(self.size4.null_model in NULL_MODELS, "size4.null_model", f"{self.size4.null_model!r} is not one of {NULL_MODELS}")
        need(self.signed.sign_mode in SIGN_MODES, "signed.sign_mode", f"{self.signed.sign_mode!r} is not one of {SIGN_MODES}")
        for key, v in (("triad_null.n_samples", self.triad_null.n_samples), ("signed.n_samples", self.signed.n_samples), ("size4.n_samples", self.size4.n_samples)):
            need(isinstance(v, int) and v >= 2, key, f"must be an integer >= 2, got {v!r}")
        need(self.ffl_top_k >= 1, "ffl_top_k", f"must be >= 1, got {self.ffl_top_k}")
        need(self.n_stages >= 1, "n_stages", f"must be >= 1, got {self.n_stages}")
        need(self.memory_mb >= 1, "memory_mb", f"must be >= 1, got {self.memory_mb}")
        try:
            self.signed.gaps
        except ValueError as e:
            raise MotifsConfigError(f"{prefix}.signed: {e}") from None

    @property
    def bitmap_bytes(self) -> int:
        return int(self.memory_mb) << 20


def _build(cls, value: Any, prefix: str):
    if not isinstance(value, dict):
        raise MotifsConfigError(f"{prefix}: must be a mapping, got {value!r}")
    names = {f.name for f in fields(cls)}
    for key in value:
        if key not in names:
            raise MotifsConfigError(f"{prefix}.{key}: unknown key; allowed: {sorted(names)}")
    try:
        return cls(**value)
    except (TypeError, ValueError) as e:
        raise MotifsConfigError(f"{prefix}: {e}") from None
