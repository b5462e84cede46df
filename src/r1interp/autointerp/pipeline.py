"""Label the selected features of one model's layers: explain, then score, then write JSON.

Why two stages: every label is requested before any scoring, so a spend cap that bites spends
the money on labels first; scoring then judges each label on held-out contexts (detection) and on
true-vs-random token marks (fuzzing), both as balanced accuracy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from r1interp.artifacts.write import write_json

from .client import FatalAPIError, Outcome, Runner, Task
from .config import AutointerpConfig
from .inputs import SEGMENT_COLUMNS, read_examples, read_stats, select_features
from .journal import Journal, TaskKey
from .prompts import (
    FeatureContext,
    detection_prompt,
    explain_prompt,
    fuzzing_prompt,
    parse_binary_list,
    parse_explanation,
)
from .sampling import Sample, Split, balanced_accuracy, detection_samples, fuzzing_samples, rng_for, split_examples
from .summary import auto_summary

log = logging.getLogger(__name__)

STATUS_OF = {"ok": "labeled", "no_key": "unlabeled", "skipped_budget": "skipped_budget", "failed": "failed"}


@dataclass(frozen=True)
class LayerInput:
    layer: int
    stats: Path
    examples: Path
    out_json: Path


@dataclass
class FeatureJob:
    layer: int
    feature: int
    split: Split
    ctx: FeatureContext
    summary: str


def _list(v) -> list:
    return [] if v is None else list(v)


def prepare_layer(li: LayerInput, cfg: AutointerpConfig) -> list[FeatureJob]:
    stats = read_stats(li.stats)
    selected = select_features(stats, cfg, li.layer)
    examples = read_examples(li.examples, selected)
    jobs = []
    for f in selected:
        exs = examples.get(f, [])
        split = split_examples(exs, cfg.n_examples, cfg.top_fraction, rng_for(cfg.seed, li.layer, f, "explain"))
        if not split.explain:
            log.warning("layer %d feature %d: no activating examples in %s; not labeled", li.layer, f, li.examples)
            continue
        row = stats.loc[f]
        segs = {  # NaN: the corpus had no tokens of that segment
            c.removeprefix("frac_active_"): float(row[c])
            for c in SEGMENT_COLUMNS
            if c in stats.columns and np.isfinite(row[c])
        }
        ctx = FeatureContext(
            frac_active=float(row["frac_active"]),
            frac_by_segment=segs,
            top_logits=tuple(str(t) for t in _list(row["top_logits"])[:10]),
            bottom_logits=tuple(str(t) for t in _list(row["bottom_logits"])[:10]),
        )
        summary = auto_summary(exs, list(ctx.top_logits), list(ctx.bottom_logits), ctx.frac_active)
        jobs.append(FeatureJob(li.layer, f, split, ctx, summary))
    log.info("layer %d: %d features selected, %d with examples", li.layer, len(selected), len(jobs))
    return jobs


def _key(model: str, job: FeatureJob, task: str, cfg: AutointerpConfig, system: str, user: str) -> TaskKey:
    """The journal key of one request: its prompt version carries a digest of the prompt itself.

    Why: the journal outlives reruns (a restart must not pay twice), and a latent id alone does not
    say what was asked — after the feature tables change (a retrained transcoder) the same
    (layer, feature) shows other examples, and a key without the prompt handed back the old
    latent's label and scores without a request."""
    digest = hashlib.sha256(f"{system}\x00{user}".encode()).hexdigest()[:16]
    return TaskKey(model, job.layer, job.feature, task, f"{cfg.prompt_version}@{digest}", cfg.llm_model)


def explain_task(model: str, job: FeatureJob, cfg: AutointerpConfig) -> Task:
    system, user = explain_prompt(cfg.prompt_version, job.split.explain, job.ctx, cfg.mark_threshold)
    return Task(_key(model, job, "explain", cfg, system, user), system, user, cfg.max_tokens_explain, parse_explanation)


def _score_parser(samples: list[Sample]):
    truth = [s.truth for s in samples]

    def parse(text: str) -> dict:
        pred = parse_binary_list(text, len(truth))
        return {"pred": pred, "truth": truth, "bal_acc": balanced_accuracy(truth, pred)}

    return parse


def score_tasks(model: str, job: FeatureJob, expl: dict, cfg: AutointerpConfig) -> list[Task]:
    tasks = []
    det = detection_samples(job.split, cfg.n_detection, rng_for(cfg.seed, job.layer, job.feature, "detection"))
    if det:
        s, u = detection_prompt(cfg.prompt_version, expl, det)
        tasks.append(Task(_key(model, job, "detection", cfg, s, u), s, u, cfg.max_tokens_score, _score_parser(det)))
    fuz = fuzzing_samples(
        job.split, cfg.n_fuzzing, cfg.mark_threshold, rng_for(cfg.seed, job.layer, job.feature, "fuzzing")
    )
    if fuz:
        s, u = fuzzing_prompt(cfg.prompt_version, expl, fuz)
        tasks.append(Task(_key(model, job, "fuzzing", cfg, s, u), s, u, cfg.max_tokens_score, _score_parser(fuz)))
    return tasks


def entry(job: FeatureJob, cfg: AutointerpConfig, outcomes: dict[str, Outcome | None]) -> dict:
    """One feature's record in ``labels/L{layer}.json``."""
    ex = outcomes["explain"]
    labeled = ex is not None and ex.status == "ok"
    res = ex.result if labeled else {}

    def score(task: str) -> float | None:
        o = outcomes.get(task)
        return o.result.get("bal_acc") if o is not None and o.status == "ok" else None

    task_status = {t: (o.status if o is not None else "not_run") for t, o in outcomes.items()}
    return {
        "feature_idx": job.feature,
        "layer": job.layer,
        "label": res.get("label"),
        "confidence": res.get("confidence"),
        "explanation": res.get("explanation"),
        "class": res.get("class"),
        "status": STATUS_OF.get(ex.status, ex.status) if ex is not None else "unlabeled",
        "label_source": "llm" if labeled else "auto-summary",
        "detection": score("detection"),
        "fuzzing": score("fuzzing"),
        "model_name": cfg.llm_model if labeled else None,
        "prompt_version": cfg.prompt_version if labeled else None,
        "auto_summary": job.summary,
        "frac_active": job.ctx.frac_active,
        "held_out_scoring": job.split.held_out,
        "n_explain_examples": len(job.split.explain),
        "task_status": task_status,
        "error": ex.error if ex is not None and not labeled and ex.status != "no_key" else None,
    }


async def label_async(
    model: str, inputs: list[LayerInput], cfg: AutointerpConfig, journal: Journal, api_key: str | None
) -> dict[int, list[dict]]:
    jobs = [j for li in inputs for j in prepare_layer(li, cfg)]
    runner = Runner(cfg, journal, api_key)
    try:
        explain = {(j.layer, j.feature): explain_task(model, j, cfg) for j in jobs}
        explained = await runner.run(list(explain.values()), desc="explain")
        scoring: dict[tuple[int, int], list[Task]] = {}
        if cfg.scoring:
            for j in jobs:
                ex = explained[explain[(j.layer, j.feature)].key]
                if ex.status == "ok":
                    scoring[(j.layer, j.feature)] = score_tasks(model, j, ex.result, cfg)
        scored = await runner.run([t for ts in scoring.values() for t in ts], desc="score")
    finally:
        await runner.aclose()
    if runner.fatal:
        raise FatalAPIError(f"the API refused requests ({runner.fatal}); check the key, access and llm_model")
    spent, held, _ = journal.budget()
    log.info(
        "%d requests sent (%d retries, %d waits for the cap); journal: committed $%.4f, reserved $%.4f, cap $%.4f",
        runner.n_requests, runner.n_retries, runner.n_budget_waits, spent, held, cfg.spend_cap_usd,
    )
    if runner.cap_message:
        log.warning(
            "spend cap $%.4f reached: %d task(s) skipped_budget; committed $%.4f, reserved $%.4f",
            cfg.spend_cap_usd, runner.n_skipped_budget, spent, held,
        )
    per_layer: dict[int, list[dict]] = {li.layer: [] for li in inputs}
    for j in jobs:
        outcomes: dict[str, Outcome | None] = {"explain": explained[explain[(j.layer, j.feature)].key]}
        if cfg.scoring and (j.layer, j.feature) in scoring:
            sent = {t.key.task: t.key for t in scoring[(j.layer, j.feature)]}
            for task in ("detection", "fuzzing"):
                outcomes[task] = scored.get(sent[task]) if task in sent else Outcome("not_applicable")
        per_layer[j.layer].append(entry(j, cfg, outcomes))
    return per_layer


def label_model(
    model: str, inputs: list[LayerInput], cfg: AutointerpConfig, journal_path: str | Path, api_key: str | None
) -> dict[int, list[dict]]:
    """Label every input layer and write each ``out_json`` atomically."""
    journal = Journal(journal_path)
    try:
        per_layer = asyncio.run(label_async(model, inputs, cfg, journal, api_key))
    finally:
        journal.close()
    for li in inputs:
        entries = sorted(per_layer[li.layer], key=lambda e: e["feature_idx"])
        write_json(entries, li.out_json, indent=1, ensure_ascii=False)
        counts: dict[str, int] = {}
        for e in entries:
            counts[e["status"]] = counts.get(e["status"], 0) + 1
        log.info("layer %d → %s: %s", li.layer, li.out_json, counts)
    return per_layer
