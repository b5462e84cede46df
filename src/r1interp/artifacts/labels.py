"""Feature labels: ``results/{model}/labels/L{layer}.json`` and ``results/{model}/labels.sqlite``.

Written by the autointerp stage (schemas in the :mod:`r1interp.autointerp` docstring); read here by
graphs (clerps), model diff and reports.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from r1interp.artifacts.paths import layer_file

BAD_LABEL_STATUS = {"failed", "error", "dead"}  # label records that name no usable label


def read_layer_labels(labels_dir: str | Path | None, layer: int) -> dict[int, str]:
    """``{feature_idx: label}`` from ``labels_dir/L{layer}.json`` if present (else empty)."""
    if labels_dir is None:
        return {}
    path = layer_file(labels_dir, layer, ".json")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"labels file {path} is not valid JSON: {e}") from e
    if isinstance(data, dict):
        data = data.get("labels") or data.get("features") or []
    out = {}
    for rec in data:
        label = rec.get("label")
        if isinstance(label, str) and label.strip() and str(rec.get("status", "")).lower() not in BAD_LABEL_STATUS:
            out[int(rec["feature_idx"])] = label.strip()
    return out


def load_labels(db_path: str | Path, include_auto: bool = True) -> dict[tuple[int, int], str]:
    """``(layer, feature_id) → label`` for graph node names (clerps). LLM labels as they are;
    features without one get ``"[auto] " + auto_summary`` when ``include_auto`` (flagged, so a
    reader never mistakes it for an LLM label)."""
    con = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT layer, feature_id, label, label_source, auto_summary FROM autointerp").fetchall()
    finally:
        con.close()
    out: dict[tuple[int, int], str] = {}
    for layer, fid, label, source, summary in rows:
        if label is not None and source == "llm":
            out[(int(layer), int(fid))] = label
        elif include_auto and summary:
            out[(int(layer), int(fid))] = "[auto] " + summary
    return out


def load_label_records(db_path: str | Path) -> list[dict]:
    """Every ``autointerp`` row as a dict (for reports)."""
    con = sqlite3.connect(f"file:{Path(db_path)}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM autointerp ORDER BY layer, feature_id")]
    finally:
        con.close()
