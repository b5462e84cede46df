"""Gather one model's per-prompt graph builds into the viewer-ready directory and its tables.

Output directory (``results/{model}/graphs/``), usable as is by ``circuit-tracer start-server
--graph_file_dir``:

- ``{graph_id}.json``: circuit-tracer graph JSON (``frontend/graph_models.Model``),
  ``metadata.scan = ./data/features/{model}``, feature-node ``clerp`` from the label database
  (``labels.sqlite`` read by ``r1interp.autointerp.load_labels``): the LLM label, else
  ``"[auto] " + auto summary`` (the prefix marks it as no label), else ``""``.
- ``graph-metadata.json``: ``{"graphs": [metadata, ...]}`` (the viewer's index), sorted by slug.
- ``features/{model}/{cantor_id}.json``: one viewer file per feature that appears in a graph.
- ``scores.parquet``: one row per built graph — ``model, graph_id, prompt_id, category, phase, rule,
  status, correct, needs_reasoning, generation, position, n_prompt_tokens, n_input_tokens, target_token_id, target_token,
  top_logit_token_id, target_probability, n_active_features, n_feature_nodes, n_error_nodes, n_token_nodes,
  n_logit_nodes, n_edges, replacement_score, completeness_score, layers_with_features
  (list<int>), n_layers_with_features, n_labeled_nodes, file, seconds, peak_rss_mb, peak_gpu_mb``.
- ``index.parquet``: one row per planned graph and per prompt without one: the id columns
  (``model, graph_id, prompt_id, category, phase, rule, status, correct, needs_reasoning, generation``),
  ``position``, ``target_token``, ``file`` (graph JSON name in this dir), ``n_input_tokens``,
  ``built`` and ``reason`` (why a graph is missing: an unfinished trace, a context too long, a
  failed build). The motif stage iterates over the ``built`` rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from r1interp.artifacts.graphs import METADATA, read_graph
from r1interp.artifacts.write import write_json, write_parquet
from r1interp.graphs.build import read_manifest
from r1interp.graphs.export import apply_clerps, feature_keys, validate_graph_json
from r1interp.graphs.viewer import viewer_scan, write_feature_files

log = logging.getLogger(__name__)

INDEX_COLUMNS = ["model", "graph_id", "prompt_id", "category", "phase", "rule", "status", "correct", "needs_reasoning",
                 "generation", "position", "target_token", "file", "n_input_tokens", "built", "reason"]


def missing_graphs(plan: pd.DataFrame | None, failed: list[dict], built_ids: set[str]) -> pd.DataFrame:
    """Index rows of graphs that do not exist: skipped by the plan, or failed in the build."""
    rows = []
    failed_by_id = {f["graph_id"]: f["reason"] for f in failed}
    if plan is not None:
        for r in plan.itertuples():
            if r.graph_id in built_ids:
                continue
            reason = r.reason or failed_by_id.get(r.graph_id, "not built")
            rows.append({"graph_id": r.graph_id, "prompt_id": r.prompt_id, "category": r.category, "phase": r.phase,
                         "rule": r.rule, "status": r.status, "correct": bool(r.correct), "needs_reasoning": bool(r.needs_reasoning),
                         "generation": r.generation, "position": int(r.position), "target_token": r.target_token, "file": "",
                         "n_input_tokens": 0, "built": False, "reason": reason})
    else:
        rows = [{"graph_id": f["graph_id"], "prompt_id": f["prompt_id"], "phase": f["phase"], "position": f["position"],
                 "file": "", "n_input_tokens": 0, "built": False, "reason": f["reason"]} for f in failed]
    return pd.DataFrame(rows)


def load_clerps(labels_db: str | Path | None) -> dict[tuple[int, int], str]:
    """``(layer, feature) → clerp`` from the autointerp database; {} (with a warning) without one."""
    if labels_db is None or not Path(labels_db).is_file():
        log.warning("no label database (%s): feature nodes get empty clerps", labels_db)
        return {}
    from r1interp.artifacts.labels import load_labels

    return load_labels(labels_db, include_auto=True)


def finalize(build_dirs: Sequence[str | Path], out_dir: str | Path, model_name: str, *, features_dir: str | Path | None = None,
             labels_db: str | Path | None = None, tokenizer=None, plan_path: str | Path | None = None) -> pd.DataFrame:
    """Write the viewer dir and tables (see module docstring); returns the scores table."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records, sources, failed = [], [], []
    for d in build_dirs:
        built, bad = read_manifest(d)
        failed += bad
        for rec in built:
            records.append(rec)
            sources.append(Path(d) / rec["file"])
    plan = None
    if plan_path is not None:
        from r1interp.graphs.plan import read_plan

        plan = read_plan(plan_path)
    missing = missing_graphs(plan, failed, {r["graph_id"] for r in records})
    for r in missing.itertuples():
        log.warning("no graph %s (%s): %s", r.graph_id or "-", r.prompt_id, r.reason)
    if not records:
        reasons = sorted(set(missing["reason"])) if len(missing) else ["no graph was planned"]
        raise ValueError(f"no graph was built for {model_name} from {len(build_dirs)} build dirs; reasons: {reasons}")
    ids = [r["graph_id"] for r in records]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"graph ids built more than once: {dupes}")
    clerps = load_clerps(labels_db)
    log.info("%d graphs from %d build dirs; %d labels", len(records), len(build_dirs), len(clerps))
    scan = viewer_scan(model_name)
    metadata, keys = [], set()
    for rec, src in zip(records, sources):
        if not src.is_file():
            raise FileNotFoundError(f"graph file listed in {src.parent / 'manifest.json'} not found: {src}")
        data = read_graph(src)
        data["metadata"]["scan"] = scan
        rec["n_labeled_nodes"] = apply_clerps(data, clerps)
        validate_graph_json(data)
        write_json(data, out_dir / rec["file"], indent=None, newline=False)
        metadata.append(data["metadata"])
        keys |= feature_keys(data)
    write_json({"graphs": sorted(metadata, key=lambda m: m["slug"])}, out_dir / METADATA, newline=False)

    if features_dir is not None:
        n = write_feature_files(keys, features_dir, out_dir / "features" / model_name, model_name, tokenizer)
        log.info("%d feature files for %d graph features", n, len(keys))
    else:
        log.warning("no --features-dir: the viewer will show graphs without feature examples")

    scores = pd.DataFrame(records)
    scores.insert(0, "model", model_name)
    scores["n_layers_with_features"] = scores["layers_with_features"].map(len)
    write_parquet(scores, out_dir / "scores.parquet")
    index = scores.assign(built=True, reason="")
    if len(missing):
        index = pd.concat([index, missing.assign(model=model_name)], ignore_index=True)
    write_parquet(index.reindex(columns=INDEX_COLUMNS).sort_values(["prompt_id", "position"], kind="stable"), out_dir / "index.parquet")
    return scores
