"""Attribution graphs ``results/{model}/graphs/``: ``{graph_id}.json`` (circuit-tracer schema),
``graph-metadata.json`` (one entry per graph, its ``slug`` is the file stem), ``features/``,
``index.parquet`` and ``scores.parquet``.

Written by the graphs stage; read by motifs, the report, publishing and notebooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

METADATA = "graph-metadata.json"


def read_graph(path: str | Path) -> dict[str, Any]:
    """One graph JSON (or ``graph-metadata.json``); fails naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"graph file not found: {path}")
    return json.loads(path.read_text())


def graph_metadata(graphs_dir: str | Path) -> list[dict[str, Any]]:
    """The ``graphs`` entries of ``graph-metadata.json``."""
    return read_graph(Path(graphs_dir) / METADATA).get("graphs", [])


def graph_files(graphs_dir: str | Path) -> list[Path]:
    """The graph JSONs of a graphs dir, in ``graph-metadata.json`` order."""
    return [Path(graphs_dir) / f"{g['slug']}.json" for g in graph_metadata(graphs_dir)]


INDEX = "index.parquet"
"""One row per planned graph and per prompt without one (``built``, ``reason``); the columns are
``graphs.finalize.INDEX_COLUMNS``."""


def read_graph_index(path: str | Path, need: tuple[str, ...] = ("graph_id", "prompt_id", "category", "phase")) -> pd.DataFrame:
    """A graphs dir's ``index.parquet``; fails naming the file and the columns it lacks."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"graph index file not found: {path}")
    df = pd.read_parquet(path)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (has {list(df.columns)})")
    return df
