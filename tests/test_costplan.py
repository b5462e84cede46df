"""The cost plan: the FLOP model against counted FLOPs of a real Qwen2 forward, and the real config's plan."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from conftest import REPO

REAL = REPO / "config" / "r1-distill-qwen-1.5b.yaml"


def real_config():
    from r1interp.config import load_config

    return load_config(REPO / "config.yaml", REAL)


def test_forward_flops_match_counted_flops_of_a_qwen2_forward():
    """forward_flops (2 x weights + causal attention scores) against torch's FLOP counter on a
    random Qwen2 at a small width; eager attention computes the full T x T scores, so the count is
    compared with the causal half added back."""
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from r1interp.core.dims import ModelDims
    from r1interp.core.flops import forward_flops

    dims = ModelDims(n_layers=2, d=128, d_mlp=384, n_heads=4, n_kv_heads=2, vocab=1000, tied=False)
    model = Qwen2ForCausalLM(Qwen2Config(hidden_size=dims.d, intermediate_size=dims.d_mlp, num_hidden_layers=dims.n_layers,
                                         num_attention_heads=dims.n_heads, num_key_value_heads=dims.n_kv_heads,
                                         vocab_size=dims.vocab, tie_word_embeddings=False, attn_implementation="eager")).eval()
    T = 64
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randint(0, dims.vocab, (1, T)))
    counted = counter.get_total_flops()
    full_scores = dims.n_layers * 4 * T * T * dims.d  # eager: QK^T and AV over all T positions
    ours = T * forward_flops(dims, T) + dims.n_layers * 2 * T * T * dims.d  # ours counts the causal half
    assert ours == pytest.approx(counted, rel=0.01), (ours, counted, full_scores)


def test_params_of_the_real_shapes():
    from r1interp.core.dims import ModelDims

    assert ModelDims(tied=True).params() == pytest.approx(1.5437e9, rel=1e-3)   # Qwen2.5(-Math)-1.5B: 1.54B
    assert ModelDims(tied=False).params() == pytest.approx(1.7771e9, rel=1e-3)  # R1-Distill: untied head


def test_grouping_saves_model_compute():
    from r1interp.core.dims import ModelDims
    from r1interp.core.flops import grouped_train_flops

    dims = ModelDims()
    one_group = grouped_train_flops(dims, [list(range(28))], 98304, 64, 1024)
    groups7 = grouped_train_flops(dims, [list(range(s, s + 7)) for s in range(0, 28, 7)], 98304, 64, 1024)
    per_layer = grouped_train_flops(dims, [[i] for i in range(28)], 98304, 64, 1024)
    assert one_group < groups7 < per_layer
    # same transcoder work in each layout; the difference is model forwards: 28 vs 70 vs 406 blocks
    assert (per_layer - groups7) == pytest.approx((406 - 70) * dims.block_flops(1024), rel=1e-9)


def test_graph_backward_passes():
    from r1interp.core.dims import ModelDims
    from r1interp.core.flops import graph_flops

    _, passes = graph_flops(ModelDims(), 98304, 64, 3456, 1024, 10, 4)
    assert passes == math.ceil(1034 / 4) == 259


def test_real_plan_is_under_target_and_compared_with_the_seed(tmp_path):
    from r1interp.core.costplan import SEED_STAGES, build_plan, plan_markdown

    plan = build_plan(real_config(), throughput_path=tmp_path / "none.json", results=tmp_path)
    stages = {s.stage: s for s in plan.stages}
    assert {"sweep", "train", "evaluate", "features", "autointerp", "generations", "graphs"} <= set(stages)
    assert stages["train"].notes.startswith("56 layers in 8 grouped jobs")
    grid = real_config()["sweep"]["grid"]
    assert "pilot layers [2, 14, 26]" in stages["sweep"].notes and stages["sweep"].jobs == len(grid["expansion_factor"]) * len(grid["k"])
    assert all("estimate" in s.throughput for s in plan.stages)
    assert plan.total_usd < 300
    cats = {r["category"]: r for r in plan.seed}
    assert cats["total"]["seed_usd"] == "530-1180" and set(cats) >= {"sweep", "training", "features+autointerp", "graphs"}
    md = plan_markdown(plan)
    assert f"**{plan.total_usd:.2f}**" in md and "Next to the seed estimate" in md
    # where a category is below the seed range, the reason is this config's own stage notes
    below = [r for r in plan.seed if r["verdict"].startswith("below")]
    assert below and all(stages[st].notes in r["verdict"] for r in below for st in SEED_STAGES[r["category"]])


def test_a_toy_plan_next_to_the_seed_gives_the_toys_reasons(tmp_path):
    """The reasons once were sentences about the real run ("early stop after layer 26") under any plan."""
    from r1interp.config import load_config
    from r1interp.core.costplan import build_plan

    plan = build_plan(load_config(REPO / "config.yaml"), throughput_path=tmp_path / "none.json", results=tmp_path)
    text = " ".join(r["verdict"] for r in plan.seed)
    assert "layer 26" not in text and "28 layers" not in text
    assert "train: 12 layers in 4 grouped jobs" in text


def test_measured_throughput_and_label_cost_replace_the_estimates(tmp_path):
    from r1interp.core.costplan import GPUS, build_plan

    cfg = real_config()
    base = build_plan(cfg, throughput_path=tmp_path / "none.json", results=tmp_path)
    tp = tmp_path / "throughput.json"
    tp.write_text(json.dumps({"gpu": "H100 SXM 80GB", "tflops": {"train": GPUS["H100 SXM 80GB"] * 0.15}}))
    for m in cfg["run"]["models"]:
        (tmp_path / m / "autointerp").mkdir(parents=True)
        (tmp_path / m / "autointerp" / "cost.json").write_text(json.dumps({"usd_per_feature": 0.004}))
    plan = build_plan(cfg, throughput_path=tp, results=tmp_path)
    b, p = {s.stage: s for s in base.stages}, {s.stage: s for s in plan.stages}
    assert p["train"].throughput.startswith("measured")
    overhead = p["train"].jobs * 0.05
    assert p["train"].gpu_hours - overhead == pytest.approx(2 * (b["train"].gpu_hours - overhead))  # half the utilisation
    assert p["features"].gpu_hours == b["features"].gpu_hours  # not measured: still the estimate
    assert p["autointerp"].usd == pytest.approx(11200 * 0.004) and p["autointerp"].throughput.startswith("measured")
    tp.write_text(json.dumps({"gpu": "A100 80GB", "tflops": {"train": 1.0}}))  # another GPU's numbers are not used
    assert build_plan(cfg, throughput_path=tp, results=tmp_path).stages[1].throughput.startswith("estimate")


def test_cli_writes_the_same_numbers_as_json_and_markdown(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "r1interp.costplan", "--configfile", str(REAL), "--results", str(tmp_path),
                           "--out-json", str(tmp_path / "plan.json"), "--out-md", str(tmp_path / "plan.md")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "plan.json").read_text())
    md = (tmp_path / "plan.md").read_text()
    assert md in proc.stdout
    assert f"**{data['total']['usd']:.2f}**" in md and data["under_budget"] is True
    from r1interp.core.costplan import plan_tables

    stages = plan_tables(data)[0][1]
    assert list(stages["stage"])[-1] == "total" and stages["usd"].iloc[-1] == pytest.approx(data["total"]["usd"])


def test_the_plan_is_rebuilt_for_another_or_edited_config_file(tmp_path):
    """The workflow's plan depends on nothing but the configuration, which the rerun policy does not
    watch as params: a toy plan in results/ must not stand for a run with another config file."""
    from conftest import copy_workflow, run_snakemake

    wd = copy_workflow(tmp_path)
    target = "results/costplan/plan.json"
    first = run_snakemake(wd, "--cores", "1", target)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Nothing to be done" in run_snakemake(wd, "-n", "--cores", "1", target).stdout
    (wd / "other.yaml").write_text("autointerp:\n  max_features_per_layer: 7\n")
    plan = run_snakemake(wd, target, "-n", "--cores", "1", "--configfile", "other.yaml")
    assert plan.returncode == 0 and "rule costplan" in plan.stdout, plan.stdout[-2000:] + plan.stderr[-2000:]
    ran = run_snakemake(wd, target, "--cores", "1", "--configfile", "other.yaml")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "Nothing to be done" in run_snakemake(wd, target, "-n", "--cores", "1", "--configfile", "other.yaml").stdout
    (wd / "other.yaml").write_text("autointerp:\n  max_features_per_layer: 9\n")  # edited: newer than the plan
    assert "rule costplan" in run_snakemake(wd, target, "-n", "--cores", "1", "--configfile", "other.yaml").stdout
