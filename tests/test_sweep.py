"""Sweep: pilot layers, grid, Pareto frontier, selection rules, and the CLI end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from r1interp.sweep.grid import grid_points, pilot_layers, point_id
from r1interp.sweep.pareto import SelectionRule, mark_frontier, pareto_mask, select
from r1interp.transcoders.settings import read_selected


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


def test_sweep_cli_end_to_end(tiny_trained_model_dir, tiny_shards, tmp_path):
    from r1interp.sweep.__main__ import main as sweep_main

    common = ["--model-dir", str(tiny_trained_model_dir), "--train-shard", str(tiny_shards["train"]),
              "--eval-shard", str(tiny_shards["eval"]), "--layers", "auto", "--eval-tokens", "600", "--device", "cpu",
              "--train-tokens", "1536", "--seq-len", "64", "--batch-size", "8", "--save-every", "100"]
    outs = []
    for ef, k in ((2, 4), (4, 8)):
        out = tmp_path / "points" / f"e{ef}_k{k}.json"
        sweep_main(["point", *common, "--expansion-factor", str(ef), "--k", str(k), "--out", str(out),
                    "--work-dir", str(tmp_path / "work" / f"e{ef}_k{k}")])
        outs.append(out)
    assert not (tmp_path / "work" / "e2_k4").exists()  # weights removed unless --keep-weights
    sweep_main(["select", "--points", *map(str, outs), "--sweep-model", "tiny", "--out-parquet", str(tmp_path / "results.parquet"),
                "--out-png", str(tmp_path / "pareto.png"), "--out-yaml", str(tmp_path / "selected.yaml"), "--ce-target", "5"])
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert len(df) == 2 * 2 and sorted(df["layer"].unique()) == [0, 2]  # 2 points × pilot layers of a 3-layer model
    assert df["selected"].sum() == 2 and (df["l0"] <= df["k"]).all()
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    sel = yaml.safe_load((tmp_path / "selected.yaml").read_text())
    assert sel["point"] in ("e2_k4_lrauto_skip1", "e4_k8_lrauto_skip1") and sel["pilot_layers"] == [0, 2]
    chosen = read_selected(tmp_path / "selected.yaml")
    assert chosen["skip_connection"] is True and chosen["lr"] is None
    winner = df[df["selected"]]
    assert chosen["k"] == int(winner["k"].iloc[0])
