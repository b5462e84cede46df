"""Attribution graphs ``results/{model}/graphs/``: ``{graph_id}.json`` (circuit-tracer schema),
``graph-metadata.json`` (one entry per graph, its ``slug`` is the file stem), ``features/``,
``index.parquet`` and ``scores.parquet``.

Written by the graphs stage; read by motifs, the report, publishing and notebooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
