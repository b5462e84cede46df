"""Sweep: pilot layers, grid, Pareto frontier, selection rules, and the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from r1interp.core.settings import read_selected
from r1interp.sweep.grid import grid_points, max_expansion_per_k, pilot_layers, point_id
from r1interp.sweep.pareto import SelectionRule, mark_frontier, pareto_mask, select, summarise_points


def test_pilot_layers():
    assert pilot_layers(28) == [2, 14, 26]
    assert pilot_layers(6) == [0, 3, 5]
    assert pilot_layers(3) == [0, 2]  # collapses duplicates on tiny models
    assert pilot_layers(6, [5, 1]) == [1, 5]
    with pytest.raises(ValueError, match=r"\[9\] outside 0..5"):
        pilot_layers(6, [1, 9])


def test_grid_points():
    pts = grid_points({"expansion_factor": [4, 8], "k": [8, 16, 32], "lr": [None, 0.01], "skip_connection": [True]})
    assert len(pts) == 12
    assert "e8_k16_lrauto_skip1" in pts and "e4_k32_lr0.01_skip1" in pts
    assert pts["e8_k16_lrauto_skip1"] == {"expansion_factor": 8, "k": 16, "lr": None, "skip_connection": True}
    assert all(point_id(p) == pid for pid, p in pts.items())
    with pytest.raises(ValueError, match="empty"):
        grid_points({"k": []})


def test_pareto_mask():
    l0 = np.array([8, 16, 32, 16, 32])
    ce = np.array([0.30, 0.10, 0.05, 0.20, 0.05])
    # (16, 0.2) is dominated by (16, 0.1); the two (32, 0.05) tie and both stay
    assert pareto_mask(l0, ce).tolist() == [True, True, True, False, True]


def _points(rows):
    return pd.DataFrame(rows, columns=["point", "l0", "ce_increase", "dead_pct", "num_latents"])


def test_selection_rules():
    pts = _points([
        ("a", 8, 0.30, 1.0, 256),
        ("b", 16, 0.052, 2.0, 512),
        ("c", 32, 0.040, 30.0, 512),  # best CE but too many dead latents: set aside before the frontier
        ("d", 32, 0.049, 2.0, 1024),  # best CE among healthy, bigger L0 than b
        ("e", 16, 0.052, 2.0, 256),   # same as b but a smaller dictionary
        ("f", 32, 0.060, 2.0, 256),   # dominated by d
    ])
    rule = SelectionRule("min_ce", dead_target=10, ce_tolerance=0.005)
    marked, no_healthy = mark_frontier(pts, rule)
    assert not no_healthy
    assert marked.set_index("point")["pareto"].to_dict() == {"a": True, "b": True, "c": False, "d": True, "e": True, "f": False}
    best, fb = select(marked, rule)
    assert (best["point"], fb) == ("e", False)  # d, b, e within tolerance → smaller L0 → smaller dict
    best, _ = select(marked, SelectionRule("min_ce", dead_target=10, ce_tolerance=0.0))
    assert best["point"] == "d"
    best, fb = select(marked, SelectionRule("sparsest_under_ce", ce_target=0.1, dead_target=10))
    assert (best["point"], fb) == ("e", False)
    best, fb = select(marked, SelectionRule("sparsest_under_ce", ce_target=0.01, dead_target=10, ce_tolerance=0.0))
    assert fb is True and best["point"] == "d"
    # if nothing is healthy, the frontier of all points is used and the fallback is flagged
    marked, no_healthy = mark_frontier(pts, SelectionRule("min_ce", dead_target=0.5))
    assert no_healthy and marked.set_index("point")["pareto"]["c"]
    with pytest.raises(ValueError, match="unknown selection rule"):
        SelectionRule("best")


def test_a_point_with_a_failed_layer_is_never_selected_and_ties_prefer_the_smaller_dictionary():
    """A pilot layer with NaN metrics (a diverged transcoder) is not averaged away; within the CE
    tolerance the smaller dictionary wins even when the wider one sits on the frontier alone."""
    rows = []
    for point, ef, k, ces in (("e8_k16", 8, 16, [0.0246, 0.0246]), ("e16_k16", 16, 16, [0.0244, 0.0244]),
                              ("e4_k16", 4, 16, [0.001, np.nan])):
        for layer, ce in enumerate(ces):
            rows.append({"point": point, "expansion_factor": ef, "k": k, "lr": 0.003, "skip_connection": True, "num_latents": ef * 64,
                         "layer": layer, "ce_increase": ce, "kl": ce, "fvu": 0.1, "l0": float(k), "dead_pct": 1.0, "train_seconds": 1.0})
    points = summarise_points(pd.DataFrame(rows))
    assert np.isnan(points.set_index("point").loc["e4_k16", "ce_increase"])  # not 0.001 from the layer that worked
    marked, _ = mark_frontier(points, SelectionRule("min_ce", ce_tolerance=0.005))
    assert not marked.set_index("point").loc["e4_k16", ["finite", "healthy", "pareto"]].any()
    assert marked.set_index("point")["pareto"].to_dict() == {"e16_k16": True, "e4_k16": False, "e8_k16": False}
    best, _ = select(marked, SelectionRule("min_ce", ce_tolerance=0.005))
    assert best["point"] == "e8_k16"  # 0.0002 nats worse, half the latents: a tie
    best, _ = select(marked, SelectionRule("sparsest_under_ce", ce_target=0.1))
    assert best["point"] == "e8_k16"
    with pytest.raises(ValueError, match="no sweep point has finite"):
        mark_frontier(points[points["point"] == "e4_k16"], SelectionRule())


def test_holdout_split_is_disjoint_seeded_and_sized():
    from r1interp.sweep.holdout import dead_tokens_needed, holdout_tokens, split_holdout

    lengths = [10 + (i * 7) % 23 for i in range(200)]
    a = split_holdout(lengths, 500, seed=3)
    assert set(a.train).isdisjoint(a.validation) and sorted(a.train + a.validation) == list(range(200))
    assert a.validation_tokens == sum(lengths[i] for i in a.validation) >= 500
    assert a.validation_tokens - lengths[a.validation[-1]] < 500  # no more documents than needed
    assert split_holdout(lengths, 500, seed=3) == a and split_holdout(lengths, 500, seed=4) != a
    with pytest.raises(ValueError, match="sweep.validation_tokens"):
        split_holdout(lengths, sum(lengths) - 5, seed=3, min_train_tokens=64)
    # the real grid's widest point (expansion 128, k 32 on d=1536) needs 61,440 tokens, not 10k
    assert dead_tokens_needed(128 * 1536, 32) == 61_440
    assert holdout_tokens(20_000, 1536, 128 / 32, 10) == 61_440 and holdout_tokens(20_000, 64, 16 / 8, 10) == 20_000
    assert holdout_tokens(20_000, 1536, 64 / 16, 10, ce_tokens=1_000_000) == 1_000_000  # CE is measured on the slice too
    assert max_expansion_per_k({"expansion_factor": [4, 8, 16], "k": [8, 16, 32]}) == 2.0


def test_dead_latents_do_not_punish_width():
    """Uniformly firing latents: 10k tokens leave ~20% of a 196k dictionary unseen; the sized count does not."""
    import torch

    from r1interp.sweep.dead import FiringCounts
    from r1interp.sweep.holdout import dead_tokens_needed

    n, k = 128 * 1536, 32
    gen = torch.Generator().manual_seed(0)

    def dead_pct(tokens):
        c = FiringCounts(n)
        for start in range(0, tokens, 8192):
            m = min(8192, tokens - start)
            c.add(torch.randint(n, (m, k), generator=gen), m)
        return c.result()

    fixed = dead_pct(10_000)  # the old sweep's eval window
    assert fixed["dead_tokens"] == 10_000 and 18 < fixed["dead_pct"] < 22
    sized = dead_pct(dead_tokens_needed(n, k))
    assert sized["dead_tokens"] == 61_440 and sized["dead_pct"] < 0.05


def test_measure_firing_matches_the_evaluation_count(tiny_trained_model_dir, tiny_shards):
    """The one-forward, chunked firing count agrees with the evaluate stage's per-layer count."""
    import torch

    from r1interp.artifacts.transcoder import SkipTranscoder
    from r1interp.core.batches import load_eval_docs, make_batches
    from r1interp.core.metrics import evaluate_layer
    from r1interp.models import load_model
    from r1interp.sweep.dead import measure_firing

    model, _ = load_model(tiny_trained_model_dir, device="cpu", dtype="float32")
    docs = load_eval_docs(tiny_shards["eval"], 400)
    g = torch.Generator().manual_seed(1)
    tcs = {}
    for layer, n in ((0, 256), (2, 96)):
        b_enc = torch.full((n,), -1.5)  # a negative bias leaves some latents silent on these few tokens
        tcs[layer] = SkipTranscoder(torch.randn(n, 32, generator=g), b_enc, torch.randn(n, 32, generator=g) * 0.01,
                                    torch.zeros(32), None, k=4)
    got = measure_firing(model, tcs, make_batches(docs, 4), chunk_elems=256 * 7)  # several encoder chunks per batch
    n_tokens = sum(len(d["input_ids"]) for d in docs)
    for layer, tc in tcs.items():
        want = evaluate_layer(model, layer, tc, make_batches(docs, 4))
        assert got[layer]["dead_tokens"] == n_tokens == want["n_mlp_tokens"]
        assert got[layer]["dead_pct"] == pytest.approx(want["dead_pct"])
        assert 0 < got[layer]["dead_pct"] < 100


def test_sweep_cli_end_to_end(tiny_trained_model_dir, tiny_shards, tmp_path):
    """Points select on a slice of the train shard: the eval shard is not an input at all."""
    from r1interp.artifacts.shards import read_shard_lists
    from r1interp.sweep.__main__ import main as sweep_main

    common = ["--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]),
              "--layers", "auto", "--eval-tokens", "300", "--validation-tokens", "600", "--max-expansion-per-k", "0.5",
              "--device", "cpu", "--train-tokens", "1536", "--seq-len", "64", "--batch-size", "8", "--save-every", "100"]
    outs = []
    for ef, k in ((2, 4), (4, 8)):
        out = tmp_path / "points" / f"e{ef}_k{k}.json"
        sweep_main(["point", *common, "--expansion-factor", str(ef), "--k", str(k), "--out", str(out),
                    "--work-dir", str(tmp_path / "work" / f"e{ef}_k{k}")])
        outs.append(out)
    assert not (tmp_path / "work" / "e2_k4").exists()  # weights removed unless --keep-weights
    records = [json.loads(o.read_text()) for o in outs]
    # one selection slice for every point, held out of the train shard: its documents are not trained on
    assert records[0]["data"] == records[1]["data"] and records[0]["data"]["selection_split"] == "train_holdout"
    meta = records[0]["data"]
    shard = read_shard_lists(tiny_shards["train"], ("doc_id", "input_ids"))
    assert meta["n_train_docs"] + meta["n_validation_docs"] == len(shard["doc_id"])
    assert set(meta["validation_doc_ids"]) <= set(shard["doc_id"])
    assert meta["validation_tokens"] >= 10 * 32 * 0.5  # factor × d_model × grid ratio
    for rec in records:
        for r in rec["layers"]:
            assert r["dead_tokens"] == meta["validation_tokens"] >= r["dead_tokens_needed"] == 10 * r["num_latents"] // rec["k"]
            assert 300 <= r["n_tokens"] < meta["validation_tokens"]  # CE on the first part of the slice
    sweep_main(["select", "--points", *map(str, outs), "--sweep-model", "tiny", "--out-parquet", str(tmp_path / "results.parquet"),
                "--out-png", str(tmp_path / "pareto.png"), "--out-yaml", str(tmp_path / "selected.yaml"), "--ce-target", "5"])
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert len(df) == 2 * 2 and sorted(df["layer"].unique()) == [0, 2]  # 2 points × pilot layers of a 3-layer model
    assert df["selected"].sum() == 2 and (df["l0"] <= df["k"]).all()
    assert set(df["selection_split"]) == {"train_holdout"} and (df["dead_tokens"] >= df["dead_tokens_needed"]).all()
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    sel = yaml.safe_load((tmp_path / "selected.yaml").read_text())
    assert sel["point"] in ("e2_k4_lrauto_skip1", "e4_k8_lrauto_skip1") and sel["pilot_layers"] == [0, 2]
    assert sel["measured_on"]["selection_split"] == "train_holdout" and sel["measured_on"]["dead_tokens"] == meta["validation_tokens"]
    chosen = read_selected(tmp_path / "selected.yaml")
    assert chosen["skip_connection"] is True and chosen["lr"] is None
    winner = df[df["selected"]]
    assert chosen["k"] == int(winner["k"].iloc[0])


def test_ce_is_measured_on_the_configured_tokens_when_they_exceed_the_slice_floor(tiny_trained_model_dir, tiny_shards, tmp_path):
    """CE/KL/FVU read the first ``eval_tokens`` of the slice; the slice was sized without them, so
    the real config's 1M CE tokens were measured on ~65k (the slice's dead-latent size)."""
    from r1interp.sweep.__main__ import main as sweep_main

    out = tmp_path / "e2_k4.json"
    sweep_main(["point", "--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]), "--layers", "0",
                "--eval-tokens", "1500", "--validation-tokens", "300", "--max-expansion-per-k", "0.5", "--device", "cpu",
                "--train-tokens", "512", "--seq-len", "64", "--batch-size", "8", "--expansion-factor", "2", "--k", "4",
                "--out", str(out), "--work-dir", str(tmp_path / "work")])
    rec = json.loads(out.read_text())
    assert rec["data"]["validation_tokens"] >= 1500 and all(r["n_tokens"] >= 1500 for r in rec["layers"])
    # documents read up to eval_max_len: the slice is counted in the tokens read, so it still holds them
    sweep_main(["point", "--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]), "--layers", "0",
                "--eval-tokens", "1500", "--eval-max-len", "16", "--validation-tokens", "300", "--max-expansion-per-k", "0.5",
                "--device", "cpu", "--train-tokens", "512", "--seq-len", "64", "--batch-size", "8", "--expansion-factor", "2",
                "--k", "4", "--out", str(out), "--work-dir", str(tmp_path / "work")])
    rec = json.loads(out.read_text())
    # n_tokens counts next-token positions: one fewer than the tokens read, per (16-token) document
    assert rec["data"]["validation_tokens"] >= 1500 and all(r["n_tokens"] >= 1500 * 15 / 16 for r in rec["layers"])


def test_sweep_training_rows_exclude_the_selection_slice(tiny_shards):
    """No packed training row contains a token run that only a held-out document has."""
    from r1interp.artifacts.shards import read_shard_lists
    from r1interp.core.settings import TrainSettings
    from r1interp.sweep.run import prepare_data

    settings = TrainSettings(train_tokens=4096, seq_len=32, batch_size=4)
    data = prepare_data(tiny_shards["train"], settings, validation_tokens=800)
    shard = read_shard_lists(tiny_shards["train"], ("doc_id", "input_ids"))
    held = set(data.meta["validation_doc_ids"])
    assert [d["doc_id"] for d in data.validation] == data.meta["validation_doc_ids"] and data.meta["validation_tokens"] >= 800
    grams = lambda ids: {tuple(ids[i : i + 12]) for i in range(len(ids) - 11)}
    train_grams = set().union(*(grams(ids) for d, ids in zip(shard["doc_id"], shard["input_ids"]) if d not in held))
    only_held = set().union(*(grams(d["input_ids"]) for d in data.validation)) - train_grams
    assert only_held, "held-out documents have token runs of their own"
    rows = [list(r) for r in data.dataset.with_format(None)["input_ids"]]
    assert len(rows) == settings.n_rows
    row_grams = set().union(*(grams(r) for r in rows))
    assert not (row_grams & only_held)
