"""The Snakemake workflow as a user drives it: plan, lint, and rules declared per stage."""

from __future__ import annotations

import re

import pytest

from conftest import copy_workflow, run_snakemake

pytestmark = pytest.mark.workflow


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """Parse Snakemake's 'Job stats' table of a dry run."""
    table = dry_run_stdout.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("wf"))


def test_dry_run_plans_every_stage(workdir):
    proc = run_snakemake(workdir, "-n")
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = job_counts(proc.stdout)
    models = 2
    assert counts["toy_model"] == models and counts["toy_pretrain_shards"] == models and counts["generations"] == models
    # one token stream per pair: rendered once (the reasoner), read through the token map by the base
    assert counts["data_shards"] == 1 and counts["data_shards_mapped"] == 1
    assert counts["toy_tokenizer"] == 1 and counts["toy_corpus"] == 1  # one vocabulary, both flavours
    assert counts["graphs_plan"] == models
    n_layers = 6
    assert counts["transcoder_layer"] == models * n_layers and counts["evaluate_layer"] == models * n_layers
    assert counts["graphs_build"] == models * 10  # every toy prompt
    for rule in ("sweep_select", "features_collect_toy_reasoner", "autointerp_db", "graphs_finalize", "motifs",
                 "compare", "heads", "patching", "modeldiff_residual", "modeldiff_dictionary", "report"):
        assert counts.get(rule, 0) >= 1, rule


def test_lint_is_clean(workdir):
    proc = run_snakemake(workdir, "--lint")
    assert proc.returncode == 0
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-3000:]
