"""Small shared helpers: logging set-up for CLI entries, atomic file outputs."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from pathlib import Path
from typing import Iterator


_HANDLER = "r1interp-stderr"


def setup_logging(level: str | None = None, *, verbose: bool = False, quiet: tuple[str, ...] = ()) -> None:
    """The one logging set-up of every entry point: timestamped lines on stderr, which each rule
    sends to its ``logs/`` file.

    Level: ``level``, else DEBUG with ``verbose``, else ``$R1INTERP_LOG``, else INFO. ``quiet``
    loggers (e.g. an SDK that would echo request options) are held at WARNING. Calling it again
    replaces only its own handler, so handlers others installed (pytest's capture) keep working.
    """
    name = level or ("DEBUG" if verbose else os.environ.get("R1INTERP_LOG", "INFO"))
    value = getattr(logging, name.upper(), None)
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {name!r} (R1INTERP_LOG or --log-level): use DEBUG, INFO, WARNING or ERROR")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(value)
    for logger in quiet:
        logging.getLogger(logger).setLevel(logging.WARNING)


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
