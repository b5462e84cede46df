"""Atomic file writes: a killed job never leaves a half-written output that looks complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from r1interp.utils import atomic_path


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=float) + "\n")


def temp_path(path: str | Path) -> Path:
    """A sibling temp name for outputs written by libraries (e.g. ``savefig``), to ``os.replace`` after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.tmp{path.suffix}")
