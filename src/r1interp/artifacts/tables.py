"""The one way a parquet artifact is read: the file exists, has the columns, has the rows asked for.

Generations, graph plans and the other tables all fail the same way: an error naming the file and
what is missing, before any expensive work starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd


class ArtifactFileError(ValueError):
    """An artifact that is missing or breaks its contract; the message names the file and column."""


def read_table(path: str | Path, columns: tuple[str, ...] | list[str], what: str, where: dict[str, Any] | None = None,
               error: type[ArtifactFileError] = ArtifactFileError, fill=None) -> pd.DataFrame:
    """Read ``path`` (``what`` names the artifact in errors) and check it has ``columns``.

    ``fill(df)`` may add columns older files lack before the check; ``where={col: value}`` keeps
    only the matching rows and fails when none match.
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{what} not found: {path}")
    df = pd.read_parquet(path)
    if fill is not None:
        df = fill(df)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise error(f"{path} lacks columns {missing} (has {list(df.columns)})")
    for col, value in (where or {}).items():
        df = df[df[col] == value].reset_index(drop=True)
        if df.empty:
            raise error(f"{path} has no rows with {col} == {value!r}")
    return df
