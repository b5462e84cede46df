"""One sweep point: train the pilot layers as one group with the point's hyper-parameters, then
evaluate each on held-out tokens. Aggregation: results table, Pareto plot, ``selected.yaml``.

Why the same code path as the real training: the sweep calls :func:`train_group` and
:func:`evaluate_layer` unchanged, so the selected config is the config the training stage runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from r1interp.sweep.pareto import SelectionRule, mark_frontier, select, summarise_points
from r1interp.transcoders.atomic import temp_path, write_json, write_text
from r1interp.transcoders.settings import SELECTED_KEYS, TrainSettings

log = logging.getLogger(__name__)

POINT_COLUMNS = ["point", "expansion_factor", "k", "lr", "skip_connection", "layer", "ce_increase", "kl", "fvu", "l0",
                 "dead_pct", "num_latents", "top1_agreement", "n_tokens", "train_seconds"]


def run_point(model, point_id: str, point: dict[str, Any], layers: list[int], dataset, eval_docs: list[dict],
              settings: TrainSettings, work_dir: str | Path, batch_size: int = 16) -> dict:
    """Train ``layers`` with ``point`` and evaluate each; returns the point record."""
    from r1interp.evaluate.batches import make_batches
    from r1interp.evaluate.metrics import evaluate_layer
    from r1interp.transcoders.io import load_transcoder
    from r1interp.transcoders.train import layer_dir_name, train_group

    work_dir = Path(work_dir)
    s = replace(settings, **{k: point[k] for k in SELECTED_KEYS})
    manifest = train_group(model, layers, dataset, s, work_dir / "transcoders", work_dir / "checkpoint", data_id=point_id)
    dev = next(model.parameters()).device
    per_layer = []
    for layer in layers:
        tc = load_transcoder(work_dir / "transcoders" / layer_dir_name(layer), device=dev)
        res = evaluate_layer(model, layer, tc, make_batches(eval_docs, batch_size))
        per_layer.append(res)
        log.info("%s layer %d: CE +%.4f, FVU %.3f, dead %.1f%%", point_id, layer, res["ce_increase"], res["fvu"], res["dead_pct"])
    return {"point": point_id, **point, "layers": per_layer, "train_seconds": manifest["seconds"],
            "train_tokens": manifest["tokens"]}


def results_frame(records: list[dict]) -> pd.DataFrame:
    rows = []
    for rec in records:
        for r in rec["layers"]:
            rows.append({
                "point": rec["point"], "expansion_factor": rec["expansion_factor"], "k": rec["k"],
                "lr": float("nan") if rec["lr"] is None else rec["lr"], "skip_connection": bool(rec["skip_connection"]),
                "layer": r["layer"], "ce_increase": r["ce_increase"], "kl": r["kl"], "fvu": r["fvu"], "l0": r["l0"],
                "dead_pct": r["dead_pct"], "num_latents": r["num_latents"], "top1_agreement": r["top1_agreement"],
                "n_tokens": r["n_tokens"], "train_seconds": rec["train_seconds"],
            })
    return pd.DataFrame(rows, columns=POINT_COLUMNS)


def aggregate(point_files: list[Path], rule: SelectionRule, out_parquet: Path, out_png: Path, out_yaml: Path,
              sweep_model: str) -> dict:
    """Write ``results.parquet`` (point × layer), ``pareto.png`` and ``selected.yaml``."""
    records = []
    for f in point_files:
        if not Path(f).is_file():
            raise FileNotFoundError(f"sweep point result not found: {f}")
        records.append(json.loads(Path(f).read_text()))
    df = results_frame(records)
    points = summarise_points(df)
    points, no_healthy = mark_frontier(points, rule)
    best, fallback = select(points, rule)
    fallback = fallback or no_healthy
    df = df.merge(points[["point", "healthy", "pareto"]], on="point")
    df["selected"] = df["point"] == best["point"]
    tmp = temp_path(out_parquet)
    df.to_parquet(tmp, index=False)
    tmp.replace(out_parquet)

    from r1interp.sweep.plot import pareto_png

    pareto_png(points, best["point"], out_png, rule.ce_target, f"sweep on {sweep_model}, pilot layers {sorted(df['layer'].unique().tolist())}")
    lr = best["lr"]
    selection = {
        "point": str(best["point"]),
        "rule": rule.rule,
        "rule_params": {"ce_target": rule.ce_target, "dead_target": rule.dead_target, "ce_tolerance": rule.ce_tolerance},
        "fallback": bool(fallback),
        "sweep_model": sweep_model,
        "pilot_layers": sorted(int(x) for x in df["layer"].unique()),
        "selected": {
            "expansion_factor": int(best["expansion_factor"]),
            "k": int(best["k"]),
            "lr": None if lr is None or lr != lr else float(lr),
            "skip_connection": bool(best["skip_connection"]),
        },
        "metrics": {key: float(best[key]) for key in ("ce_increase", "ce_increase_max", "kl", "fvu", "l0", "dead_pct")},
        "pareto_points": points[points["pareto"]]["point"].tolist(),
    }
    write_text(out_yaml, yaml.safe_dump(selection, sort_keys=False))
    if fallback:
        log.warning("no Pareto point met the constraints of rule %s; fell back to lowest CE", rule.rule)
    log.info("selected %s: mean CE +%.4f, L0 %.1f, dead %.1f%%", best["point"], best["ce_increase"], best["l0"], best["dead_pct"])
    return selection


def save_point(record: dict, out: Path) -> None:
    write_json(out, record)
