"""Autointerp on real features-stage tables: tiny random Qwen2 + random sparsify transcoders →
``python -m r1interp.features collect`` → label (fake Claude over HTTP, and without a key) → DB."""

from __future__ import annotations

import json
import sqlite3

import pyarrow.parquet as pq
import pytest
import torch

from fake_anthropic_server import FakeAnthropic
from r1interp.artifacts.labels import load_labels
from r1interp.autointerp import AutointerpConfig, build_db
from r1interp.autointerp.pipeline import LayerInput, label_model

FEATURE_PARAMS = dict(batch_tokens=512, max_batch_seqs=16, max_seq_len=48, skip_first_tokens=1, top_n=6,
                      context_before=6, context_after=3, quantile_bins=3, quantile_per_bin=3, reservoir_size=24,
                      n_negative=4, negative_pool=32, hist_bins=16, hist_bins_per_octave=4, n_logits=5, seed=0)


@pytest.fixture(scope="module")
def features(tmp_path_factory, tiny_model_dir, tiny_shards):
    from safetensors.torch import save_file
    from transformers import AutoConfig

    from r1interp.features.__main__ import main

    cfg = AutoConfig.from_pretrained(tiny_model_dir)
    d, n = cfg.hidden_size, 32
    tc_root = tmp_path_factory.mktemp("transcoders")
    layers = list(range(cfg.num_hidden_layers))
    for layer in layers:  # random skip transcoders in sparsify's checkpoint layout
        g = torch.Generator().manual_seed(10 + layer)
        (tc_root / f"L{layer}").mkdir()
        (tc_root / f"L{layer}" / "cfg.json").write_text(json.dumps(
            {"d_in": d, "num_latents": n, "k": 4, "activation": "topk", "transcode": True, "skip_connection": True}
        ))  # fmt: skip
        save_file({
            "encoder.weight": torch.randn(n, d, generator=g) * 2 / d**0.5,
            "encoder.bias": -0.1 - 0.9 * torch.rand(n, generator=g),
            "W_dec": torch.randn(n, d, generator=g) / d**0.5,
            "b_dec": torch.zeros(d),
            "W_skip": torch.zeros(d, d),
        }, str(tc_root / f"L{layer}" / "sae.safetensors"))  # fmt: skip
    out = tmp_path_factory.mktemp("features")
    rc = main(["collect", "--model-path", str(tiny_model_dir), "--shards", str(tiny_shards["eval"]),
               "--transcoders-dir", str(tc_root), "--layers", *map(str, layers), "--out-dir", str(out),
               "--device", "cpu", "--dtype", "float32", "--params", json.dumps(FEATURE_PARAMS), "--no-progress"])
    assert rc in (0, None)
    return [(layer, out / f"L{layer}.stats.parquet", out / f"L{layer}.examples.parquet") for layer in layers]


def test_real_tables_label_score_and_db(tmp_path, features):
    srv = FakeAnthropic().start()
    try:
        cfg = AutointerpConfig.from_dict(dict(
            llm_model="fake-claude", base_url=srv.base_url, prices={"fake-claude": {"input": 1.0, "output": 5.0}},
            max_features_per_layer=4, min_frequency=0.0, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0,
        ))  # fmt: skip
        inputs = [LayerInput(layer, s, e, tmp_path / "labels" / f"L{layer}.json") for layer, s, e in features]
        out = label_model("tiny", inputs, cfg, tmp_path / "journal.sqlite", "sk-fake")
    finally:
        srv.stop()
    entries = [e for es in out.values() for e in es]
    assert len(entries) == 4 * len(features)
    assert all(e["status"] == "labeled" and e["label"].startswith("tok:") for e in entries)
    assert all(e["task_status"]["explain"] == "ok" for e in entries)
    # the explainer saw the real activating tokens: the fake labels with the marked ones
    for (layer, stats, examples), es in zip(features, out.values()):
        ex = pq.read_table(examples).to_pandas()
        for e in es:
            rows = ex[(ex.feature_id == e["feature_idx"]) & (ex.kind == "top")]
            assert not rows.empty
            top_tok = rows.iloc[0].tokens[rows.iloc[0].max_idx].strip()
            if top_tok and "<" not in top_tok and ">" not in top_tok and "\n" not in top_tok:  # the fake's <<mark>> regex cannot return "<|eos|>"
                assert top_tok in e["label"], (top_tok, e["label"])
    scored = [e for e in entries if e["detection"] is not None]
    assert scored and all(0.0 <= e["detection"] <= 1.0 for e in scored)
    assert srv.total_success == sum(1 + sum(e["task_status"].get(t) == "ok" for t in ("detection", "fuzzing"))
                                    for e in entries)

    db = tmp_path / "labels.sqlite"
    counts = build_db(db, "tiny", [l for l, _, _ in features], [i.out_json for i in inputs], [e for _, _, e in features])
    assert counts["autointerp"] == len(entries) and counts["activations"] > 0 and counts["tokens"] > 0
    labels = load_labels(db)
    assert {labels[(e["layer"], e["feature_idx"])] for e in entries} == {e["label"] for e in entries}
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM autointerp WHERE label_source='llm' AND model_name='fake-claude' "
                       "AND prompt_version='v1'").fetchone()[0] == len(entries)
    con.close()


def test_a_rerun_on_changed_tables_asks_again_and_on_the_same_tables_does_not(tmp_path, features):
    """The journal outlives reruns so that no paid answer is bought twice; but an answer belongs to
    the prompt it answered. After the feature tables change (a retrained transcoder), the same
    (layer, feature) shows other examples and must be asked again, not handed the old label."""
    import pandas as pd

    layer, stats, examples = features[0]
    srv = FakeAnthropic().start()
    try:
        cfg = AutointerpConfig.from_dict(dict(
            llm_model="fake-claude", base_url=srv.base_url, prices={"fake-claude": {"input": 1.0, "output": 5.0}},
            max_features_per_layer=4, min_frequency=0.0, scoring=False, backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0,
        ))  # fmt: skip
        journal = tmp_path / "journal.sqlite"
        first = label_model("tiny", [LayerInput(layer, stats, examples, tmp_path / "a.json")], cfg, journal, "sk-fake")[layer]
        asked = srv.total_success
        same = label_model("tiny", [LayerInput(layer, stats, examples, tmp_path / "b.json")], cfg, journal, "sk-fake")[layer]
        assert srv.total_success == asked and [e["label"] for e in same] == [e["label"] for e in first]  # nothing bought twice
        # the same feature ids, other latents behind them: rotate the examples over the features
        ex = pd.read_parquet(examples)
        ids = sorted(ex["feature_id"].unique())
        rotated = ex.assign(feature_id=ex["feature_id"].map(dict(zip(ids, ids[1:] + ids[:1]))))
        moved = tmp_path / "moved.examples.parquet"
        rotated.to_parquet(moved)
        again = label_model("tiny", [LayerInput(layer, stats, moved, tmp_path / "c.json")], cfg, journal, "sk-fake")[layer]
    finally:
        srv.stop()
    assert srv.total_success > asked  # asked again
    fresh = {e["feature_idx"]: e["label"] for e in again}
    old = {e["feature_idx"]: e["label"] for e in first}
    assert any(fresh[f] != old[f] for f in fresh.keys() & old.keys())
