"""The whole toy workflow end to end, as a new user runs it, at smoke-test sizes.

Same rules, same code paths as the default run (tests/data/smoke-config.yaml only shrinks sizes).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def finished(smoke_workflow):
    return smoke_workflow  # conftest: one smoke run per session, shared with the notebook test


def test_second_run_has_nothing_to_do(finished):
    proc = run_snakemake(finished, "-n", "--configfile", "smoke.yaml")
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]


def test_every_stage_wrote_its_outputs(finished):
    r = finished / "results"
    for model in ("toy-reasoner", "toy-base"):
        for layer in range(3):
            assert (r / model / f"transcoders/L{layer}/sae.safetensors").is_file()
            assert (r / model / f"features/L{layer}.stats.parquet").is_file()
            labels = json.loads((r / model / f"labels/L{layer}.json").read_text())
            assert labels and {x["status"] for x in labels} == {"unlabeled"}
            assert all(x["label_source"] == "auto-summary" and not x["label"] for x in labels)
        assert (r / model / "labels.sqlite").is_file()
        assert pd.read_parquet(r / model / "eval/layers.parquet").shape[0] == 3
        assert (r / model / "transcoders/README.md").read_text().startswith("---")
        assert not pd.read_parquet(r / model / "motifs/profiles.parquet").empty
    for name in ("model_vs_base.parquet", "think_vs_answer.parquet", "analysis_summary.json"):
        assert (r / "compare" / name).is_file()
    assert (r / "sweep/selected.yaml").is_file() and (r / "sweep/pareto.png").is_file()
    assert (r / "toy-reasoner/heads/heads.parquet").is_file()
    assert (r / "report.html").stat().st_size > 50_000


def test_graphs_have_features_across_layers(finished):
    for model in ("toy-reasoner", "toy-base"):
        scores = pd.read_parquet(finished / "results" / model / "graphs/scores.parquet")
        assert len(scores) >= 4
        assert (scores.n_feature_nodes > 0).all(), scores[["graph_id", "n_feature_nodes"]]
        assert scores.layers_with_features.map(len).max() == 3


def test_graphs_explain_decisions_and_pair_across_models(finished):
    """Answer graphs on the boxed content, think graphs inside closed traces; the base teacher-forced at the same tokens."""
    r = finished / "results"
    gens = pd.read_parquet(r / "toy-reasoner/generations.parquet").set_index("prompt_id")
    idx_r = pd.read_parquet(r / "toy-reasoner/graphs/index.parquet")
    idx_b = pd.read_parquet(r / "toy-base/graphs/index.parquet")
    for row in idx_r.itertuples():
        gen = gens.loc[row.prompt_id]
        if gen.think_end < 0:  # unfinished trace: no graph, and the index says why
            assert not row.built and row.reason.startswith("unfinished"), row
        elif row.phase == "answer":
            assert row.rule in ("boxed", "expected") and row.position > gen.think_end
            assert row.target_token.strip() and row.target_token.strip() not in ("The", "**", "To")
        elif row.phase == "think":
            assert len(gen.prompt_ids) <= row.position < gen.think_end
    assert (idx_b["generation"].fillna("teacher_forced:toy-reasoner") == "teacher_forced:toy-reasoner").all()
    key = ["prompt_id", "phase", "position", "target_token"]
    both = idx_r[idx_r["built"]][key].merge(idx_b[idx_b["built"]][key], on=key)
    assert len(both) == idx_b["built"].sum() and len(both) >= 2  # every base graph explains the reasoner's token there


def test_one_token_stream_per_pair(finished):
    from r1interp.artifacts.shards import read_stream_hash

    r = finished / "results"
    for split in ("train", "eval"):
        a, b = (read_stream_hash(r / m / "data" / f"{split}.parquet") for m in ("toy-reasoner", "toy-base"))
        assert a == b is not None
    streams = {m: {json.loads(p.read_text())["stream_sha256"] for p in (r / m / "transcoders/groups").glob("*/manifest.json")}
               for m in ("toy-reasoner", "toy-base")}
    assert streams["toy-reasoner"] == streams["toy-base"] and len(streams["toy-base"]) == 1
    stream = streams["toy-base"].pop()
    for m in ("toy-reasoner", "toy-base"):
        assert stream in (r / m / "transcoders/README.md").read_text()
    tmap = json.loads((r / "toy-base/data/tokenmap.json").read_text())
    assert {e["source_token"]: e["target_token"] for e in tmap["entries"]}["<|Assistant|>"] == "<|im_start|>"


def test_model_vs_base_covers_every_closed_reasoning_prompt(finished):
    r = finished / "results"
    gens = pd.read_parquet(r / "toy-reasoner/generations.parquet")
    idx = {m: pd.read_parquet(r / m / "graphs/index.parquet") for m in ("toy-reasoner", "toy-base")}
    mvb = pd.read_parquet(r / "compare/model_vs_base.parquet")
    closed = set(gens[gens.needs_reasoning & (gens.think_end >= 0)].prompt_id)
    for phase, g in mvb.groupby("phase"):
        built = [set(i[(i["phase"] == phase) & i["built"]]["prompt_id"]) for i in idx.values()]
        expected = closed & built[0] & built[1]
        assert (g["n_pairs"] == len(expected)).all(), (phase, len(expected), g["n_pairs"].unique())
        assert g["null_model"].notna().all() and g["positions"].str.len().gt(0).all()
        tri = g[g["family"] == "triad"]  # a one-degree-of-freedom triad family is tested on Z(030T) alone
        assert tri["measure"].isin(["SP", "Z(030T)"]).all() and (set(tri["motif"]) == {"030T"}) == (tri["measure"] == "Z(030T)").all()
    report = (r / "report.html").read_text()
    assert "null model:" in report and "positions:" in report and "n (paired prompts)" in report and "measure:" in report


def test_every_job_wrote_a_log(finished):
    logs = {p.relative_to(finished / "logs").parts[0] for p in (finished / "logs").rglob("*.log")}
    for rule in ("toy_model", "data_shards", "train_transcoders", "features_collect", "graphs_build", "motifs", "report"):
        assert any(name.startswith(rule) for name in logs), (rule, sorted(logs))
