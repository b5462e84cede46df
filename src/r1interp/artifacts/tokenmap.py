"""Token map ``results/{base}/data/tokenmap.json``: how a base model reads its reasoner's added tokens.

Derived by the data stage (:func:`r1interp.data.tokenmap.derive_token_map`); read by the data stage
(mapping shards), graphs (teacher-forced plans) and notebooks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from r1interp.artifacts.write import write_json


class TokenMapError(ValueError):
    """Two tokenizers cannot be aligned one-to-one; the message names the token."""


@dataclass(frozen=True)
class MappedToken:
    """One reasoner added token and the base token it is read as."""

    source_id: int
    source_token: str
    target_id: int
    target_token: str
    rule: str  # same_string | role:<name> | role:bos->eos | unmatched


@dataclass
class TokenMap:
    """Reasoner id → base id; identity on the shared regular vocabulary."""

    source: str
    target: str
    unmatched_as: str
    entries: list[MappedToken] = field(default_factory=list)

    @property
    def changed(self) -> dict[int, int]:
        return {e.source_id: e.target_id for e in self.entries if e.source_id != e.target_id}

    def apply(self, ids) -> np.ndarray:
        """The base's ids for a reasoner sequence (same length, same positions)."""
        arr = np.asarray(ids)
        out = arr.copy()
        for src, dst in self.changed.items():
            out[arr == src] = dst
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "unmatched_as": self.unmatched_as,
                "entries": [asdict(e) for e in self.entries], "sha256": self.sha256()}

    def sha256(self) -> str:
        body = json.dumps([[e.source_id, e.target_id] for e in self.entries]).encode()
        return hashlib.sha256(body).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenMap":
        return cls(data["source"], data["target"], data["unmatched_as"], [MappedToken(**e) for e in data["entries"]])


def write_token_map(tmap: TokenMap, path: str | Path) -> None:
    write_json(tmap.to_dict(), path, ensure_ascii=False)


def read_token_map(path: str | Path) -> TokenMap:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"token map not found: {path}")
    try:
        return TokenMap.from_dict(json.loads(path.read_text()))
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise TokenMapError(f"{path}: not a token map ({e})") from e
