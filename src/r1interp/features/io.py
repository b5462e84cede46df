"""Write the feature tables and the run summary atomically (a killed job leaves no half file)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from torch import nn

from r1interp.artifacts.features import examples_path, stats_path
from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.artifacts.write import atomic_path, write_json, write_parquet
from r1interp.features.collect import layer_tables, run_pass, summary, vocab_for
from r1interp.features.config import FeatureConfig
from r1interp.features.corpus import Corpus
from r1interp.features.tables import EXAMPLES_SCHEMA

log = logging.getLogger(__name__)


def write_batches(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path) -> int:
    """Stream record batches into one Parquet file; returns the row count."""
    rows = 0
    with atomic_path(path) as tmp:
        with pq.ParquetWriter(tmp, schema) as writer:
            for batch in batches:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def collect_to_dir(model: nn.Module, tokenizer, transcoders: dict[int, SkipTranscoder], corpus: Corpus,
                   cfg: FeatureConfig, out_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """One pass, then ``L{layer}.stats.parquet``, ``L{layer}.examples.parquet`` and ``summary.json``."""
    out_dir = Path(out_dir)
    res = run_pass(model, transcoders, corpus, cfg, progress=progress)
    vocab, vocab_limit = vocab_for(model, tokenizer, corpus)
    stats = {}
    for layer in sorted(res.layers):
        table, examples = layer_tables(res, layer, model, corpus, cfg, vocab, vocab_limit)
        n_rows = write_batches(examples, EXAMPLES_SCHEMA, examples_path(out_dir, layer))
        write_parquet(table, stats_path(out_dir, layer))
        stats[layer] = table
        log.info("layer %d: %d features, %d example rows", layer, table.num_rows, n_rows)
    info = summary(res, stats, cfg)
    write_json(info, out_dir / "summary.json", newline=False)
    return info
