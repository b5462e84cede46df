"""Synthetic features-stage tables for the autointerp tests.

A seeded toy "corpus" of token ids and a handful of features with known behaviour (one fires on
digits, one on "+", one on " cat", one at random, one dead, one rare) turned into the exact
``L{layer}.stats.parquet`` / ``L{layer}.examples.parquet`` schema the features stage writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from r1interp.autointerp import AutointerpConfig

SECRET = "sk-ant-api03-R1INTERP-FAKE-SECRET-7f3e9c1a"
ROOT = Path(__file__).resolve().parents[1]

WORDS = [" the", " cat", " is", " a", " number", " sum", " so", " we", " get", " then", " check", ".", "\n"]
DIGITS = [str(d) for d in range(10)]
VOCAB = WORDS + DIGITS + ["+", "=", "<think>", "</think>"]
TOK = {t: i for i, t in enumerate(VOCAB)}
WINDOW = 16

FEATURES = {  # feature id → kind
    0: "digit",
    1: "plus",
    2: "cat",
    3: "noise",
    4: "dead",
    5: "rare",
    6: "sum",
    7: "check",
}


def make_docs(n_docs: int = 24, length: int = 96, seed: int = 0) -> np.ndarray:
    """Token ids [n_docs, length]; digits never follow digits (one digit = one marked span)."""
    rng = np.random.default_rng(seed)
    docs = np.zeros((n_docs, length), dtype=np.int64)
    for d in range(n_docs):
        prev_digit = False
        for i in range(length):
            r = rng.random()
            if r < 0.12 and not prev_digit:
                tok, prev_digit = DIGITS[rng.integers(10)], True
            elif r < 0.16:
                tok, prev_digit = "+", False
            else:
                tok, prev_digit = WORDS[rng.integers(len(WORDS))], False
            docs[d, i] = TOK[tok]
    return docs


def feature_acts(docs: np.ndarray, kind: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, 99])
    toks = np.vectorize(lambda i: VOCAB[i])(docs)
    if kind == "digit":
        return np.where(np.isin(toks, DIGITS), 3.0 + docs % 7 * 0.5, 0.0)
    if kind in ("plus", "cat", "sum", "check"):
        target = {"plus": "+", "cat": " cat", "sum": " sum", "check": " check"}[kind]
        return np.where(toks == target, 4.0 + rng.random(docs.shape), 0.0)
    if kind == "noise":
        return np.where(rng.random(docs.shape) < 0.04, 1.0 + 4 * rng.random(docs.shape), 0.0)
    if kind == "rare":
        a = np.zeros(docs.shape)
        a[0, 5] = 2.0
        return a
    return np.zeros(docs.shape)  # dead


def _window(doc: np.ndarray, acts: np.ndarray, center: int) -> tuple[int, list[int], list[str], list[float]]:
    start = int(min(max(0, center - WINDOW // 2), len(doc) - WINDOW))
    ids = [int(t) for t in doc[start : start + WINDOW]]
    return start, ids, [VOCAB[i] for i in ids], [float(a) for a in acts[start : start + WINDOW]]


def feature_tables(docs: np.ndarray, n_top: int = 10, n_per_bin: int = 4, n_bins: int = 4, n_neg: int = 8, seed: int = 0):
    """(stats, examples) DataFrames in the features-stage schema."""
    rng = np.random.default_rng(seed)
    stats, ex = [], []
    for fid, kind in FEATURES.items():
        acts = feature_acts(docs, kind, seed)
        nz = acts[acts > 0]
        frac = float((acts > 0).mean())
        stats.append(
            {
                "feature_id": fid,
                "frac_active": frac,
                "frac_active_prompt": frac,
                "frac_active_think": frac,
                "frac_active_answer": frac,
                "frac_active_other": 0.0,
                "max_act": float(acts.max()),
                "mean_act": float(nz.mean()) if nz.size else 0.0,
                "quantiles": [float(q) for q in np.quantile(nz, [0.25, 0.5, 0.75])] if nz.size else [0.0] * 3,
                "hist_counts": [int(nz.size)],
                "hist_edges": [0.0, float(acts.max())],
                "top_logits": ["=", " so"] if kind == "digit" else [" the"],
                "top_logit_values": [1.5, 1.0] if kind == "digit" else [0.5],
                "bottom_logits": ["."],
                "bottom_logit_values": [-1.0],
            }
        )
        if nz.size == 0:
            continue
        # top: the strongest positions, one window per doc position
        flat = np.argsort(-acts, axis=None, kind="stable")
        pos = [np.unravel_index(i, acts.shape) for i in flat[: nz.size]]
        for rank, (d, i) in enumerate(pos[:n_top]):
            ex.append(_row(fid, "top", -1, rank, int(d), docs[d], acts[d], int(i)))
        # quantile bins over the non-zero activations
        edges = np.quantile(nz, np.linspace(0, 1, n_bins + 1))
        for b in range(n_bins):
            in_bin = [p for p in pos if edges[b] <= acts[p] <= edges[b + 1]]
            for rank, j in enumerate(rng.permutation(len(in_bin))[:n_per_bin]):
                d, i = in_bin[j]
                ex.append(_row(fid, "quantile", b, rank, int(d), docs[d], acts[d], int(i)))
        # negatives: windows where the feature is silent throughout
        found = 0
        for d in rng.permutation(docs.shape[0]):
            for c in range(WINDOW // 2, docs.shape[1] - WINDOW // 2, WINDOW):
                start = c - WINDOW // 2
                if found < n_neg and not acts[d, start : start + WINDOW].any():
                    ex.append(_row(fid, "negative", -1, found, int(d), docs[d], np.zeros_like(acts[d]), c))
                    found += 1
    return pd.DataFrame(stats), pd.DataFrame(ex)


def _row(fid, kind, qbin, rank, d, doc, acts, center) -> dict:
    start, ids, toks, a = _window(doc, acts, center)
    return {
        "feature_id": fid,
        "kind": kind,
        "quantile_bin": qbin,
        "rank": rank,
        "doc_id": d,
        "start": start,
        "token_ids": ids,
        "tokens": toks,
        "acts": a,
        "max_idx": int(np.argmax(a)),
        "act_max": float(max(a)),
    }


def write_layer(dirpath: Path, layer: int, seed: int = 0) -> tuple[Path, Path]:
    """Write ``L{layer}.stats.parquet`` and ``L{layer}.examples.parquet``; returns their paths."""
    dirpath.mkdir(parents=True, exist_ok=True)
    stats, ex = feature_tables(make_docs(seed=seed), seed=seed + layer)
    s, e = dirpath / f"L{layer}.stats.parquet", dirpath / f"L{layer}.examples.parquet"
    stats.to_parquet(s, index=False)
    ex.to_parquet(e, index=False)
    return s, e


# ----------------------------------------------------------------------------- running the stage


def fast_cfg(server, **kw) -> AutointerpConfig:
    base = dict(
        llm_model="fake-claude",
        base_url=server.base_url,
        prices={"fake-claude": {"input": 1.0, "output": 5.0}},
        max_features_per_layer=None,
        concurrency=4,
        max_retries=5,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        timeout_s=2.0,
        batch_poll_s=0.01,
    )
    base.update(kw)
    return AutointerpConfig.from_dict(base)


def journal_rows(path: Path, sql: str) -> list[tuple]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def cli(args: list[str], log: Path, key: str | None, **popen) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    if key:
        env["ANTHROPIC_API_KEY"] = key
    with open(log, "ab") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "r1interp.autointerp", *args], stderr=f, stdout=f, env=env, cwd=ROOT, **popen
        )


def label_args(tmp: Path, layers, cfg: AutointerpConfig) -> list[str]:
    return [
        "label",
        "--model", "toy",
        "--layers", *[str(layer) for layer, _, _ in layers],
        "--stats", *[str(s) for _, s, _ in layers],
        "--examples", *[str(e) for _, _, e in layers],
        "--out-json", *[str(tmp / "labels" / f"L{layer}.json") for layer, _, _ in layers],
        "--journal", str(tmp / "autointerp" / "journal.sqlite"),
        "--params", json.dumps(asdict(cfg)),
    ]  # fmt: skip
