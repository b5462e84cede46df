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
LABEL_KEYS = ("feature_idx", "layer", "label", "confidence", "explanation", "status", "class", "label_source")  # the DB's


def read_labels_json(path: str | Path, layer: int | None, required: tuple[str, ...] = LABEL_KEYS) -> list[dict]:
    """The label records of one layer, each checked to have the ``required`` keys and (unless None) this layer."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: labels JSON not found")
    entries = json.loads(path.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of label records")
    for e in entries:
        missing = [k for k in required if k not in e]
        if missing:
            raise ValueError(f"{path}: record {e.get('feature_idx')!r} lacks key(s) {missing}")
        if layer is not None and int(e["layer"]) != layer:
            raise ValueError(f"{path}: record for feature {e['feature_idx']} has layer {e['layer']}, expected {layer}")
    return entries


def read_layer_labels(labels_dir: str | Path | None, layer: int) -> dict[int, str]:
    """``{feature_idx: label}`` of the usable labels in ``labels_dir/L{layer}.json`` (empty without the file)."""
    path = None if labels_dir is None else layer_file(labels_dir, layer, ".json")
    if path is None or not path.is_file():
        return {}
    out = {}
    for rec in read_labels_json(path, layer, required=("feature_idx", "layer")):
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
