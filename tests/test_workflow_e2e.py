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
        assert len(scores) >= 10
        assert (scores.n_feature_nodes > 0).all(), scores[["graph_id", "n_feature_nodes"]]
        assert scores.layers_with_features.map(len).max() == 3
    index = pd.read_parquet(finished / "results/toy-reasoner/graphs/index.parquet")
    gens = pd.read_parquet(finished / "results/toy-reasoner/generations.parquet").set_index("prompt_id")
    for prompt_id, phases in index.groupby("prompt_id").phase:
        row = gens.loc[prompt_id]
        if row.needs_reasoning and row.think_start >= 0:
            assert "think" in set(phases), prompt_id  # a graph inside the <think> trace
            # and one at the first non-blank answer token whenever the (smoke-sized) model wrote one
            wrote_answer = row.think_end >= 0 and bool(row.answer_text.strip())
            assert ("answer" in set(phases)) == wrote_answer, (prompt_id, set(phases), row.answer_text)


def test_every_job_wrote_a_log(finished):
    logs = {p.relative_to(finished / "logs").parts[0] for p in (finished / "logs").rglob("*.log")}
    for rule in ("toy_model", "data_shards", "train_transcoders", "features_collect", "graphs_build", "motifs", "report"):
        assert any(name.startswith(rule) for name in logs), (rule, sorted(logs))
