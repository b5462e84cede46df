"""Atomic writers, one per format: a killed job never leaves a half-written output.

Every writer fills a temp file next to the target and ``os.replace``-s it into place only when
the write succeeded, so Snakemake never mistakes a partial file for a finished output. The temp
name keeps the target's suffix, so libraries that infer the format from it (matplotlib,
safetensors, pyarrow) write the right thing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path next to ``path``; move it into place only if the block succeeds.

    The block may make a file or a directory there; a directory replaces ``path`` as a whole (no
    stale file of an older one survives).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    _remove(tmp)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir() and not path.is_symlink():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            _remove(old)
            path.rename(old)
            tmp.rename(path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_with(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Atomic output written by a library call ``write(tmp_path)`` (savefig, save_file, ...)."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_bytes(data: bytes, path: str | Path) -> Path:
    return write_with(path, lambda tmp: tmp.write_bytes(data))


def write_text(text: str, path: str | Path) -> Path:
    """Text, markdown or HTML, UTF-8."""
    return write_bytes(text.encode(), path)


def json_default(o: Any) -> Any:
    """numpy / torch scalars and arrays → plain JSON values; anything else numeric → float."""
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    try:
        return float(o)
    except (TypeError, ValueError):
        raise TypeError(f"not JSON serialisable: {type(o).__name__}") from None


def write_json(obj: Any, path: str | Path, indent: int | None = 2, newline: bool = True, **dumps: Any) -> Path:
    """JSON (``dumps``: e.g. ``ensure_ascii=False``, ``allow_nan=False``), a final newline unless ``newline=False``."""
    return write_text(json.dumps(obj, indent=indent, default=json_default, **dumps) + ("\n" if newline else ""), path)


def write_parquet(data: Any, path: str | Path, **kwargs: Any) -> Path:
    """A pandas DataFrame (index dropped) or a pyarrow Table; ``kwargs`` go to the writer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if isinstance(data, pa.Table):
        return write_with(path, lambda tmp: pq.write_table(data, tmp, **kwargs))
    return write_with(path, lambda tmp: data.to_parquet(tmp, index=False, **kwargs))


def write_figure(fig: Any, path: str | Path, dpi: int = 120, **kwargs: Any) -> Path:
    """A matplotlib figure as PNG (closed afterwards, written or not)."""
    import matplotlib.pyplot as plt

    kwargs.setdefault("bbox_inches", "tight")
    try:
        return write_with(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png", **kwargs))
    finally:
        plt.close(fig)


def write_safetensors(tensors: dict, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    from safetensors.torch import save_file

    return write_with(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
