"""The per-model label database ``results/{model}/labels.sqlite`` and its reader.

Why these tables: names and columns follow Goodfire's R1 SAE release (``autointerp``, ``tokens``,
``activations``) with a ``layer`` column added, so tools written for that release read ours.
The file is built under a temp name and renamed over the target: a crash never leaves a
half-written database.

Tables:
- ``autointerp(layer, feature_id, label, quality, interestingness, model_name, prompt_version,
  confidence, explanation, class, status, detection_bal_acc, fuzzing_bal_acc, label_source,
  auto_summary, frac_active)`` — one row per selected feature. ``label`` is NULL unless an LLM
  produced it (``label_source='llm'``); ``quality`` is the mean of the available balanced
  accuracies; ``interestingness`` is NULL (we do not estimate it).
- ``tokens(sequence_id, token_idx, token, decoded_token)`` — ``sequence_id`` = features-stage
  ``doc_id``, ``token_idx`` = position in that document, ``token`` = token id.
- ``activations(layer, feature_id, sequence_id, token_idx, strength)`` — non-zero activations of
  the example windows (selected features only unless ``all_features``).
- ``meta(key, value)``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path

import pyarrow.parquet as pq

from r1interp.artifacts.features import check_table
from r1interp.artifacts.labels import read_labels_json
from r1interp.artifacts.write import atomic_path

from .inputs import EXAMPLE_COLUMNS

log = logging.getLogger(__name__)

DB_SCHEMA = """
CREATE TABLE autointerp (
    layer INTEGER NOT NULL, feature_id INTEGER NOT NULL, label TEXT, quality REAL, interestingness REAL,
    model_name TEXT, prompt_version TEXT, confidence REAL, explanation TEXT, class TEXT, status TEXT NOT NULL,
    detection_bal_acc REAL, fuzzing_bal_acc REAL, label_source TEXT NOT NULL, auto_summary TEXT, frac_active REAL,
    PRIMARY KEY (layer, feature_id)
);
CREATE TABLE tokens (
    sequence_id INTEGER NOT NULL, token_idx INTEGER NOT NULL, token INTEGER, decoded_token TEXT,
    PRIMARY KEY (sequence_id, token_idx)
);
CREATE TABLE activations (
    layer INTEGER NOT NULL, feature_id INTEGER NOT NULL, sequence_id INTEGER NOT NULL,
    token_idx INTEGER NOT NULL, strength REAL NOT NULL
);
CREATE UNIQUE INDEX activations_key ON activations (layer, feature_id, sequence_id, token_idx);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""

DB_INDEXES = """
CREATE INDEX activations_seq ON activations (sequence_id, token_idx);
CREATE INDEX autointerp_status ON autointerp (status);
CREATE INDEX autointerp_class ON autointerp (class);
"""

def _quality(e: dict) -> float | None:
    s = [v for v in (e.get("detection"), e.get("fuzzing")) if v is not None]
    return sum(s) / len(s) if s else None


def build_db(
    out: str | Path,
    model: str,
    layers: list[int],
    labels_json: list[str | Path],
    examples: list[str | Path],
    all_features: bool = False,
) -> dict[str, int]:
    """Build the database from per-layer label JSON and examples tables; returns row counts."""
    if not (len(layers) == len(labels_json) == len(examples)):
        raise ValueError(
            f"need one labels JSON and one examples table per layer: {len(layers)} layers, "
            f"{len(labels_json)} JSON, {len(examples)} examples"
        )
    labels = {layer: read_labels_json(p, layer) for layer, p in zip(layers, labels_json)}
    for p in examples:
        check_table(p, EXAMPLE_COLUMNS)
    with atomic_path(out) as tmp:
        con = sqlite3.connect(str(tmp))
        try:
            con.executescript(DB_SCHEMA)
            for layer, entries in labels.items():
                con.executemany(
                    "INSERT INTO autointerp VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            layer,
                            int(e["feature_idx"]),
                            e["label"],
                            _quality(e),
                            None,
                            e.get("model_name"),
                            e.get("prompt_version"),
                            e["confidence"],
                            e["explanation"],
                            e["class"],
                            e["status"],
                            e.get("detection"),
                            e.get("fuzzing"),
                            e["label_source"],
                            e.get("auto_summary"),
                            e.get("frac_active"),
                        )
                        for e in entries
                    ],
                )
            for layer, path in zip(layers, examples):
                wanted = None if all_features else [int(e["feature_idx"]) for e in labels[layer]]
                _insert_examples(con, layer, path, wanted)
            con.executescript(DB_INDEXES)
            meta = {"model": model, "layers": json.dumps(layers), "created_at": str(time.time()), "schema": "r1interp-1"}
            con.executemany("INSERT INTO meta VALUES (?,?)", list(meta.items()))
            con.commit()
            counts = {t: con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("autointerp", "tokens", "activations")}
        finally:
            con.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    log.info("%s: %s", out, counts)
    return counts


def _insert_examples(con: sqlite3.Connection, layer: int, path: str | Path, wanted: list[int] | None) -> None:
    if wanted is not None and not wanted:
        return
    filters = [("feature_id", "in", wanted)] if wanted is not None else None
    cols = ["feature_id", "doc_id", "start", "token_ids", "tokens", "acts"]
    if filters:
        tables = iter([pq.read_table(path, columns=cols, filters=filters)])
    else:  # every feature: one row group at a time keeps memory bounded
        pf = pq.ParquetFile(path)
        tables = (pf.read_row_group(i, columns=cols) for i in range(pf.num_row_groups))
    for table in tables:
        d = table.to_pydict()
        tok_rows, act_rows = [], []
        rows = zip(d["feature_id"], d["doc_id"], d["start"], d["token_ids"], d["tokens"], d["acts"])
        for f, doc, start, ids, toks, acts in rows:
            for i, (tid, tok, a) in enumerate(zip(ids, toks, acts)):
                tok_rows.append((int(doc), int(start) + i, int(tid), tok))
                if a:
                    act_rows.append((layer, int(f), int(doc), int(start) + i, float(a)))
        con.executemany("INSERT OR IGNORE INTO tokens VALUES (?,?,?,?)", tok_rows)
        con.executemany("INSERT OR IGNORE INTO activations VALUES (?,?,?,?,?)", act_rows)
