"""One sweep point: train the pilot layers as one group with the point's hyper-parameters, then
evaluate each on the selection slice (:mod:`r1interp.sweep.holdout`: held out of the train shard,
disjoint from the eval shard the evaluate stage reports on). CE/KL/FVU are measured on its first
``eval_tokens``; dead latents on the whole slice, sized so that width is not punished.
Aggregation: results table, Pareto plot, ``selected.yaml``.

Why the same code path as the real training: the sweep calls :func:`train_group` and
:func:`evaluate_layer` unchanged, so the selected config is the config the training stage runs.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from r1interp.artifacts.paths import layer_dir
from r1interp.artifacts.write import write_json, write_parquet, write_text
from r1interp.core.settings import SELECTED_KEYS, TrainSettings
from r1interp.sweep.dead import measure_firing
from r1interp.sweep.holdout import dead_tokens_needed, split_holdout
from r1interp.sweep.pareto import SelectionRule, mark_frontier, select, summarise_points

log = logging.getLogger(__name__)

POINT_COLUMNS = ["point", "expansion_factor", "k", "lr", "skip_connection", "layer", "ce_increase", "kl", "fvu", "l0",
                 "dead_pct", "dead_tokens", "dead_tokens_needed", "num_latents", "top1_agreement", "n_tokens",
                 "train_seconds", "selection_split"]
SELECTION_SPLIT = "train_holdout"
"""The split selection is made on (column ``selection_split``): a slice held out of the train shard."""


@dataclass
class SweepData:
    dataset: Any  # packed training rows (datasets.Dataset), from the train shard minus the slice
    validation: list[dict]  # documents of the selection slice (eval-doc dicts)
    meta: dict  # sizes and ids of the split, recorded in each point's JSON


def prepare_data(train_shard: str | Path, settings: TrainSettings, validation_tokens: int, max_len: int | None = None) -> SweepData:
    """Split the train shard into the training documents and the selection slice (same for every point)."""
    from datasets import Dataset

    from r1interp.artifacts.shards import read_shard_lists
    from r1interp.core.packing import pack_rows

    data = read_shard_lists(train_shard, ("doc_id", "kind", "input_ids", "segment"))
    ids = data["input_ids"]
    # the slice is counted in the tokens it is evaluated on (documents cut at max_len)
    split = split_holdout([min(len(x), max_len or len(x)) for x in ids], validation_tokens, settings.seed, min_train_tokens=settings.seq_len)
    rows = pack_rows([ids[i] for i in split.train], settings.seq_len, settings.n_rows, settings.seed)
    validation = []
    for i in split.validation:
        doc_ids, seg = ids[i], data["segment"][i]
        if len(seg) != len(doc_ids):
            raise ValueError(f"{train_shard}: doc {data['doc_id'][i]} has {len(doc_ids)} input_ids but {len(seg)} segment codes")
        if max_len is not None:
            doc_ids, seg = doc_ids[:max_len], seg[:max_len]
        if len(doc_ids) >= 2:
            validation.append({"doc_id": int(data["doc_id"][i]), "kind": data["kind"][i], "input_ids": list(doc_ids), "segment": list(seg)})
    meta = {
        "selection_split": SELECTION_SPLIT,
        "train_shard": str(train_shard),
        "n_train_docs": len(split.train),
        "n_validation_docs": len(validation),
        "validation_tokens": sum(len(d["input_ids"]) for d in validation),
        "validation_doc_ids": [d["doc_id"] for d in validation],
    }
    return SweepData(Dataset.from_dict({"input_ids": rows.tolist()}).with_format("torch"), validation, meta)


def first_tokens(docs: list[dict], max_tokens: int) -> list[dict]:
    """The first documents holding ``max_tokens`` tokens (at least one document)."""
    out, total = [], 0
    for d in docs:
        out.append(d)
        total += len(d["input_ids"])
        if total >= max_tokens:
            break
    return out


def run_point(model, point_id: str, point: dict[str, Any], layers: list[int], dataset, validation: list[dict],
              settings: TrainSettings, work_dir: str | Path, batch_size: int = 16, ce_tokens: int | None = None,
              dead_factor: float = 10.0) -> dict:
    """Train ``layers`` with ``point``, then evaluate each on the selection slice; returns the point record.

    CE/KL/FVU/L0 on the slice's first ``ce_tokens`` tokens (all when None); dead latents on the
    whole slice, with the token count and the count this dictionary needs recorded per layer.
    """
    from r1interp.artifacts.transcoder import load_transcoder
    from r1interp.core.batches import make_batches
    from r1interp.core.metrics import evaluate_layer
    from r1interp.core.train import train_group

    work_dir = Path(work_dir)
    s = replace(settings, **{k: point[k] for k in SELECTED_KEYS})
    manifest = train_group(model, layers, dataset, s, work_dir / "transcoders", work_dir / "checkpoint", data_id=point_id)
    dev = next(model.parameters()).device
    tcs = {layer: load_transcoder(layer_dir(work_dir / "transcoders", layer), device=dev) for layer in layers}
    firing = measure_firing(model, tcs, make_batches(validation, batch_size))
    ce_docs = validation if ce_tokens is None else first_tokens(validation, ce_tokens)
    per_layer = []
    for layer, tc in tcs.items():
        res = evaluate_layer(model, layer, tc, make_batches(ce_docs, batch_size))
        res.update(firing[layer], dead_tokens_needed=dead_tokens_needed(tc.num_latents, tc.k, dead_factor))
        if res["dead_tokens"] < res["dead_tokens_needed"]:
            log.warning("%s layer %d: dead latents measured on %d tokens, fewer than the %d this width needs",
                        point_id, layer, res["dead_tokens"], res["dead_tokens_needed"])
        per_layer.append(res)
        log.info("%s layer %d: CE +%.4f, FVU %.3f, dead %.1f%% of %d latents over %d tokens", point_id, layer,
                 res["ce_increase"], res["fvu"], res["dead_pct"], tc.num_latents, res["dead_tokens"])
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
                "dead_pct": r["dead_pct"], "dead_tokens": r.get("dead_tokens", pd.NA),
                "dead_tokens_needed": r.get("dead_tokens_needed", pd.NA), "num_latents": r["num_latents"],
                "top1_agreement": r["top1_agreement"], "n_tokens": r["n_tokens"], "train_seconds": rec["train_seconds"],
                "selection_split": rec.get("data", {}).get("selection_split", "unknown"),
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
    broken = points.loc[~points["finite"], "point"].tolist()
    if broken:
        log.warning("sweep points with a non-finite metric on a pilot layer, never selected: %s", ", ".join(broken))
    df = df.merge(points[["point", "finite", "healthy", "pareto"]], on="point")
    df["selected"] = df["point"] == best["point"]
    write_parquet(df, out_parquet)

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
        "measured_on": {
            "selection_split": _one(df["selection_split"]),
            "note": "a slice held out of the train shard; the evaluate stage reports faithfulness on the eval shard",
            "ce_tokens": int(df.loc[df["selected"], "n_tokens"].min()),
            "dead_tokens": int(df.loc[df["selected"], "dead_tokens"].min()),
            "dead_tokens_needed": int(df.loc[df["selected"], "dead_tokens_needed"].max()),
        },
        "pareto_points": points[points["pareto"]]["point"].tolist(),
        "non_finite_points": broken,
    }
    write_text(yaml.safe_dump(selection, sort_keys=False), out_yaml)
    if fallback:
        log.warning("no Pareto point met the constraints of rule %s; fell back to lowest CE", rule.rule)
    log.info("selected %s: mean CE +%.4f, L0 %.1f, dead %.1f%%", best["point"], best["ce_increase"], best["l0"], best["dead_pct"])
    return selection


def _one(col: pd.Series) -> str:
    values = sorted(set(map(str, col)))
    return values[0] if len(values) == 1 else ",".join(values)


def save_point(record: dict, out: Path) -> None:
    write_json(record, out)
