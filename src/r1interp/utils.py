"""Small shared helpers: logging set-up for CLI entries, atomic file outputs."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Iterator


def setup_logging(level: str | None = None) -> None:
    """Log to stderr (the Snakemake rule sends stderr to its ``logs/`` file)."""
    logging.basicConfig(
        level=getattr(logging, (level or os.environ.get("R1INTERP_LOG", "INFO")).upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; move it into place only if the block succeeds.

    Why: a killed job must never leave a half-written output that Snakemake would take as done.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink() if tmp.is_file() else __import__("shutil").rmtree(tmp)
