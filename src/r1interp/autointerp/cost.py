"""Measured label cost per model: ``results/{model}/autointerp/cost.json``.

Why: the cost plan needs dollars per labelled feature as the API really bills them — input,
output, prompt-cache writes and reads, batch discount — not a guess from prompt lengths. Every
paid reply's usage is in the journal; this prices it with the configured ``prices`` (so the
numbers follow the config, not whatever prices a past run used) and counts the labelled features
in the labels JSON. Replies that carried no usage are counted at the estimate the run charged
for them (``unmetered_usd``).

Fields: ``model, llm_model, prompt_version, features_selected, features_labelled, calls`` (paid
replies: ``paid, usable, unusable, usage_unknown, batch``), ``calls_by_task``, ``tokens``
(``input, output, cache_creation_input, cache_read_input``), ``tokens_by_task``, ``dollars``,
``dollars_by_task``, ``unmetered_usd``, ``dollars_per_feature`` (null when nothing was
labelled), ``dollars_per_call``, ``prices_usd_per_mtok``, ``batch_price_factor``,
``prompt_caching``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from r1interp.artifacts.labels import read_labels_json

from .config import AutointerpConfig

TOKEN_KINDS = ("input", "output", "cache_creation_input", "cache_read_input")


def _spend_rows(journal: Path, model: str, llm_model: str) -> list[tuple]:
    if not journal.is_file():
        return []
    con = sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=60)
    try:
        cols = {r[1] for r in con.execute("PRAGMA table_info(spend)")}
        extra = "cache_creation_tokens, cache_read_tokens, usage_known" if "usage_known" in cols else "0, 0, 1"
        return con.execute(
            f"SELECT task, input_tokens, output_tokens, {extra}, cost_usd, ok, batch FROM spend "
            "WHERE model=? AND llm_model=?",
            (model, llm_model),
        ).fetchall()
    finally:
        con.close()


def label_counts(labels_json: list[str | Path]) -> tuple[int, int]:
    """(features selected, features labelled by the LLM) over the per-layer labels JSON."""
    n_sel = n_lab = 0
    for p in labels_json:
        entries = read_labels_json(p, None, required=())
        n_sel += len(entries)
        n_lab += sum(1 for e in entries if e.get("status") == "labeled")
    return n_sel, n_lab


def cost_summary(journal: str | Path, model: str, labels_json: list[str | Path], cfg: AutointerpConfig) -> dict[str, Any]:
    prices = cfg.price()
    n_sel, n_lab = label_counts(labels_json)
    tokens = dict.fromkeys(TOKEN_KINDS, 0)
    by_task: dict[str, dict[str, Any]] = {}
    calls = {"paid": 0, "usable": 0, "unusable": 0, "usage_unknown": 0, "batch": 0}
    dollars = unmetered = 0.0
    for task, n_in, n_out, n_cw, n_cr, known, charged, ok, batch in _spend_rows(Path(journal), model, cfg.llm_model):
        calls["paid"] += 1
        calls["usable" if ok else "unusable"] += 1
        calls["batch"] += int(bool(batch))
        t = by_task.setdefault(task, {"calls": 0, "dollars": 0.0, **dict.fromkeys(TOKEN_KINDS, 0)})
        t["calls"] += 1
        if not known:
            calls["usage_unknown"] += 1
            unmetered += float(charged)
            t["dollars"] += float(charged)
            continue
        counts = dict(zip(TOKEN_KINDS, (int(n_in or 0), int(n_out or 0), int(n_cw or 0), int(n_cr or 0))))
        usd = (
            counts["input"] * prices.input
            + counts["output"] * prices.output
            + counts["cache_creation_input"] * prices.cache_write
            + counts["cache_read_input"] * prices.cache_read
        ) * (cfg.batch_price_factor if batch else 1.0)
        dollars += usd
        t["dollars"] += usd
        for k, v in counts.items():
            tokens[k] += v
            t[k] += v
    total = dollars + unmetered
    return {
        "model": model,
        "llm_model": cfg.llm_model,
        "prompt_version": cfg.prompt_version,
        "features_selected": n_sel,
        "features_labelled": n_lab,
        "calls": calls,
        "calls_by_task": {k: v["calls"] for k, v in sorted(by_task.items())},
        "tokens": tokens,
        "tokens_by_task": {k: {kind: v[kind] for kind in TOKEN_KINDS} for k, v in sorted(by_task.items())},
        "dollars": round(total, 9),
        "dollars_by_task": {k: round(v["dollars"], 9) for k, v in sorted(by_task.items())},
        "unmetered_usd": round(unmetered, 9),
        "dollars_per_feature": round(total / n_lab, 9) if n_lab else None,
        "dollars_per_call": round(total / calls["paid"], 9) if calls["paid"] else None,
        "prices_usd_per_mtok": {
            "input": round(prices.input * 1e6, 9),
            "output": round(prices.output * 1e6, 9),
            "cache_write": round(prices.cache_write * 1e6, 9),
            "cache_read": round(prices.cache_read * 1e6, 9),
        },
        "batch_price_factor": cfg.batch_price_factor,
        "prompt_caching": cfg.prompt_caching,
    }


def read_cost(path: str | Path) -> dict[str, Any]:
    """Read a ``cost.json`` (for the cost plan); fails naming the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: autointerp cost file not found")
    data = json.loads(path.read_text())
    missing = [k for k in ("dollars", "features_labelled", "dollars_per_feature", "tokens") if k not in data]
    if missing:
        raise ValueError(f"{path}: lacks key(s) {missing}")
    return data
