"""Training settings for skip transcoders, as one dataclass shared by the sweep and the training.

Why one dataclass: the sweep trains exactly what the training stage trains (same data pipeline,
optimizer, dead-latent loss), only on fewer layers and tokens, so a sweep winner transfers. The
hyper-parameters the sweep *selects* (``expansion_factor``, ``k``, ``lr``, ``skip_connection``)
come from ``results/sweep/selected.yaml``; the rest come from the ``transcoders:`` config section.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from r1interp.utils import check_fields

SELECTED_KEYS = ("expansion_factor", "k", "lr", "skip_connection")


@dataclass(frozen=True)
class TrainSettings:
    # selected by the sweep
    expansion_factor: int = 8
    k: int = 16
    lr: float | None = None  # None → sparsify's default for the optimizer (signum: 5e-3/sqrt(n/2^14))
    skip_connection: bool = True
    # data
    train_tokens: int = 300_000  # token budget; the shard is repeated (reshuffled) when it is smaller
    seq_len: int = 128  # documents are packed into rows of this many tokens (sparsify's layout)
    batch_size: int = 16  # rows per step
    # optimisation
    optimizer: str = "signum"  # signum | adam | muon (sparsify's); lr scales differ ~10x between them
    auxk_alpha: float = 0.03125  # AuxK dead-latent loss weight; 0 disables it
    dead_feature_threshold: int = 100_000  # tokens without firing after which a latent counts as dead
    save_every: int = 50  # steps between resumable checkpoints
    seed: int = 0  # data shuffle and initialisation seed

    def __post_init__(self) -> None:
        checks = {
            "expansion_factor": self.expansion_factor >= 1,
            "k": self.k >= 1,
            "lr": self.lr is None or self.lr > 0,
            "train_tokens": self.train_tokens >= 1,
            "seq_len": self.seq_len >= 2,
            "batch_size": self.batch_size >= 1,
            "optimizer": self.optimizer in ("signum", "adam", "muon"),
            "auxk_alpha": self.auxk_alpha >= 0,
            "dead_feature_threshold": self.dead_feature_threshold >= 1,
            "save_every": self.save_every >= 1,
        }
        check_fields("transcoder settings", self, checks)

    @property
    def n_rows(self) -> int:
        """Packed rows needed for the token budget (at least one batch)."""
        return max(self.batch_size, self.train_tokens // self.seq_len)

    def fingerprint(self, **extra: Any) -> str:
        """Stable hash of everything that changes the trained weights (resume safety check)."""
        payload = json.dumps({**asdict(self), **extra}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def with_selected(self, selected: dict[str, Any]) -> "TrainSettings":
        return replace(self, **{k: selected[k] for k in SELECTED_KEYS if k in selected})


def read_selection(path: str | Path) -> tuple[dict[str, Any], str | None]:
    """``(selected, sweep_model)`` of a ``selected.yaml`` (written by the sweep), read once; fail
    naming the file and the key. ``sweep_model`` (``None`` where the file does not record one) lets
    a reader tell a selection of another run from its own."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep selection not found: {path}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("selected"), dict):
        raise ValueError(f"{path}: expected a mapping with a 'selected' mapping")
    sel = data["selected"]
    missing = [k for k in SELECTED_KEYS if k not in sel]
    if missing:
        raise ValueError(f"{path}: 'selected' lacks keys {missing}")
    made_on = data.get("sweep_model")
    return sel, None if made_on is None else str(made_on)


def read_selected(path: str | Path) -> dict[str, Any]:
    """The selected settings of a ``selected.yaml`` (:func:`read_selection`)."""
    return read_selection(path)[0]


def sweep_model(config: dict) -> str:
    """The model the pilot sweep runs on: ``sweep.model``, else the run's first reasoner (else its first model)."""
    models = list(config["run"]["models"])
    name = (config.get("sweep") or {}).get("model")
    if name:
        return str(name)
    return next((m for m in models if (config.get("models", {}).get(m) or {}).get("role") == "reasoner"), models[0])
