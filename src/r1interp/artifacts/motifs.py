"""Motif tables ``results/{model}/motifs/``: ``profiles.parquet`` (one row per graph × motif),
``ffl_instances.parquet`` and ``graphs.parquet``; the same layout for external graph collections
under ``results/compare/external/``.

Written by the motifs stage; read by compare and the report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TABLES = ("profiles", "ffl_instances", "graphs")
PROFILE_COLUMNS = ("graph_id", "prompt_id", "category", "phase", "family", "motif", "motif_index", "z", "sp", "count")


def read_motif_tables(motif_dir: str | Path, what: str) -> dict[str, pd.DataFrame]:
    """``{stem: table}`` of a motif output dir; errors name ``what`` (e.g. ``model 'toy-reasoner'``) and the file."""
    motif_dir = Path(motif_dir)
    tables = {}
    for stem in TABLES:
        path = motif_dir / f"{stem}.parquet"
        if not path.is_file():
            raise FileNotFoundError(f"{what}: missing {path}")
        tables[stem] = pd.read_parquet(path)
    missing = sorted(set(PROFILE_COLUMNS) - set(tables["profiles"].columns))
    if missing:
        raise ValueError(f"{motif_dir / 'profiles.parquet'}: missing columns {missing}")
    return tables
