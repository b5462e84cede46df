"""Evaluation: replacement metrics are real (exact transcoder → baseline, bad one → worse)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from r1interp.artifacts.segments import ANSWER, THINK
from r1interp.core.batches import load_eval_docs, make_batches
from r1interp.core.hooks import capture_mlp_io, replace_mlp
from r1interp.core.metrics import evaluate_full, evaluate_layer
from r1interp.evaluate.generations import generations_markdown, prompt_prefixes, side_by_side
from r1interp.evaluate.table import Targets, flag, layers_frame
from r1interp.models import load_model
from transcoders_helpers import install_exact_mlps, random_transcoder


@pytest.fixture(scope="module")
def exact_setup(tiny_trained_model_dir):
    """The tiny trained model with every MLP swapped for a ReLU-skip MLP, and its exact transcoders."""
    model, tok = load_model(tiny_trained_model_dir, "cpu", "float32")
    exact = install_exact_mlps(model, [0, 1, 2])
    return model, tok, exact


@pytest.fixture(scope="module")
def docs(tiny_shards):
    return load_eval_docs(tiny_shards["eval"], 1200)


def test_eval_docs_and_batches(docs):
    assert sum(len(d["input_ids"]) for d in docs) >= 1200
    b = next(make_batches(docs, 4))
    assert b.input_ids.shape == b.segment.shape == b.attention_mask.shape
    assert ((b.segment == -1) == (b.attention_mask == 0)).all()


def test_exact_transcoder_reproduces_baseline(exact_setup, docs):
    model, _, exact = exact_setup
    for layer in (0, 2):
        res = evaluate_layer(model, layer, exact[layer], make_batches(docs, 8))
        assert abs(res["ce_increase"]) < 1e-5
        assert res["kl"] < 1e-6
        assert res["top1_agreement"] == 1.0
        assert res["fvu"] < 1e-8
        assert res["l0"] > 1  # the ReLU layer is really used, not only the skip path
        assert res["ce_orig"] > 0.1  # a real loss, not a degenerate one
        assert abs(res["ce_increase_zero"]) > 0.01  # deleting this MLP does change the loss
        if res["ce_increase_zero"] > 0:
            assert res["ce_recovered"] == pytest.approx(1.0, abs=1e-3)
    full = evaluate_full(model, exact, make_batches(docs, 8))
    assert abs(full["ce_increase"]) < 1e-5 and full["kl"] < 1e-6 and full["top1_agreement"] == 1.0


def test_bad_transcoder_is_worse_than_baseline(exact_setup, docs):
    model, _, exact = exact_setup
    bad = random_transcoder(32, 48, 8, seed=3)
    res = evaluate_layer(model, 1, bad, make_batches(docs, 8))
    assert res["ce_increase"] > 0.05
    assert res["kl"] > 0.01
    assert res["fvu"] > 0.5
    assert res["l0_max"] <= 8
    full = evaluate_full(model, {**exact, 1: bad}, make_batches(docs, 8))
    assert full["ce_increase"] > 0.05 and full["top1_agreement"] < 1.0


def test_fvu_matches_direct_computation(exact_setup, docs):
    model, _, _ = exact_setup
    tc = random_transcoder(32, 64, 4, seed=5, scale=0.2)
    res = evaluate_layer(model, 1, tc, make_batches(docs, 8))
    ys, yhats = [], []
    for batch in make_batches(docs, 8):
        captured: list = []
        with capture_mlp_io(model, 1, captured), torch.no_grad():
            model(input_ids=batch.input_ids, attention_mask=batch.attention_mask)
        x, y = captured[0]
        m = batch.attention_mask.bool()
        ys.append(y[m])
        yhats.append(tc(x[m]))
    y, yhat = torch.cat(ys).double(), torch.cat(yhats).double()
    fvu = ((y - yhat) ** 2).sum() / ((y - y.mean(0)) ** 2).sum()
    assert res["fvu"] == pytest.approx(float(fvu), rel=1e-6)
    assert res["n_mlp_tokens"] == sum(len(d["input_ids"]) for d in docs)


def test_segments_are_reported(exact_setup, docs):
    model, _, _ = exact_setup
    bad = random_transcoder(32, 48, 8, seed=3)
    res = evaluate_layer(model, 1, bad, make_batches(docs, 8))
    segs = res["segments"]
    assert {"think", "answer"} <= set(segs)
    n_think = sum(int((torch.tensor(d["segment"][1:]) == THINK).sum()) for d in docs)
    n_answer = sum(int((torch.tensor(d["segment"][1:]) == ANSWER).sum()) for d in docs)
    assert segs["think"]["n_tokens"] == n_think and segs["answer"]["n_tokens"] == n_answer
    assert sum(s["n_tokens"] for s in segs.values()) == res["n_tokens"]


def test_hook_restores_model(exact_setup):
    model, _, _ = exact_setup
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        before = model(ids).logits
        with replace_mlp(model, 1, random_transcoder(32, 48, 8, seed=1)):
            during = model(ids).logits
        after = model(ids).logits
    assert (before - during).abs().max() > 1e-3
    torch.testing.assert_close(before, after, rtol=0, atol=0)


def test_generations_side_by_side(exact_setup, docs):
    model, tok, exact = exact_setup
    prompts = prompt_prefixes(docs, 2)
    by_id = {d["doc_id"]: d for d in docs}
    for p in prompts:
        seg = by_id[p["doc_id"]]["segment"]
        assert THINK not in seg[: len(p["prompt_ids"])] and seg[len(p["prompt_ids"])] == THINK  # r1: stops before <think>
    rows = side_by_side(model, tok, exact, prompts, max_new_tokens=8)
    for r in rows:  # an exact replacement generates exactly what the original does
        assert r["original"] == r["replacement"] and r["identical_prefix_tokens"] == r["n_original_tokens"]
    md = generations_markdown("tiny", rows)
    assert md.count("\n| ") >= 3 and "| original | replacement |" in md


def test_flags_and_table():
    t = Targets()
    assert flag(0.01, 1.0, t) == "ideal"
    assert flag(0.07, 1.0, t) == "ok"
    assert flag(0.2, 1.0, t) == "FAIL(ce)"
    assert flag(0.01, 50.0, t) == "FAIL(dead)"
    assert flag(float("nan"), 1.0, t) == "FAIL(ce)"
    df = layers_frame([{"layer": 1, "ce_increase": 0.2, "dead_pct": 3.0, "segments": {"think": {"ce_increase": 0.3}}},
                       {"layer": 0, "ce_increase": 0.01, "dead_pct": 3.0, "segments": {}}], t)
    assert df["layer"].tolist() == [0, 1] and df["flag"].tolist() == ["ideal", "FAIL(ce)"]
    assert df.loc[1, "ce_increase_think"] == 0.3 and pd.isna(df.loc[0, "ce_increase_think"])


def test_cli_layer_full_table(tiny_trained_model_dir, tiny_shards, tmp_path):
    """The CLI end to end on real files: a random transcoder per layer saved in sparsify layout."""
    from sparsify import SparseCoder, SparseCoderConfig

    from r1interp.evaluate.__main__ import main as ev_main

    root = tmp_path / "transcoders"
    for layer in range(3):
        torch.manual_seed(layer)
        sc = SparseCoder(32, SparseCoderConfig(expansion_factor=2, k=4, transcode=True, skip_connection=True))
        torch.nn.init.normal_(sc.W_dec, std=0.05)
        sc.save_to_disk(root / f"L{layer}")
    common = ["--model-dir", str(tiny_trained_model_dir), "--eval-shard", str(tiny_shards["eval"]), "--max-tokens", "600", "--device", "cpu"]
    for layer in range(3):
        ev_main(["layer", *common, "--transcoder", str(root / f"L{layer}"), "--layer", str(layer), "--out", str(tmp_path / f"L{layer}.json")])
    ev_main(["full", *common, "--transcoders-root", str(root), "--out", str(tmp_path / "full.json"),
             "--generations-out", str(tmp_path / "gen.md"), "--n-prompts", "2", "--max-new-tokens", "6"])
    ev_main(["table", "--layer-json", *[str(tmp_path / f"L{i}.json") for i in range(3)], "--full", str(tmp_path / "full.json"),
             "--out-parquet", str(tmp_path / "layers.parquet"), "--out-md", str(tmp_path / "summary.md"), "--model-name", "tiny"])
    df = pd.read_parquet(tmp_path / "layers.parquet")
    assert df["layer"].tolist() == [0, 1, 2] and (df["l0_max"] <= 4).all()
    full = json.loads((tmp_path / "full.json").read_text())
    assert full["layers"] == [0, 1, 2] and full["ce_increase"] > 0
    md = (tmp_path / "summary.md").read_text()
    assert "All layers replaced at once" in md and ("FAIL" in md or "ok" in md)
    assert (tmp_path / "gen.md").read_text().startswith("# Greedy generations")
    with pytest.raises(SystemExit, match=r"--layer 5 outside 0..2"):
        ev_main(["layer", *common, "--transcoder", str(root / "L0"), "--layer", "5", "--out", str(tmp_path / "x.json")])
