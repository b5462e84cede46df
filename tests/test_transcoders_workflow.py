"""Snakemake plan of the transcoder rules: a per-layer target rebuilds only its group's training job
(`--forcerun train_transcoders`), and `group_size: 1` makes that exactly one layer. Planned on a
temp copy of the workflow whose outputs are fabricated (only file times matter to the plan)."""

from __future__ import annotations


import pytest

from cluster_helpers import clean_env, fabricate_outputs, parse_plan, snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    from conftest import copy_workflow

    wd = copy_workflow(tmp_path_factory.mktemp("wf-tc"))
    env = clean_env()
    target = "results/toy-reasoner/transcoders/L4/sae.safetensors"
    plan = snakemake(wd, "-n", "--cores", "1", target, env=env)
    assert plan.returncode == 0, plan.stderr[-3000:]
    fabricate_outputs(wd, parse_plan(plan.stdout))
    return wd, env, target


def _jobs(proc):
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sorted((j.rule, tuple(sorted(j.wildcards.items()))) for j in parse_plan(proc.stdout))


def test_one_layer_target_reruns_only_its_group(workflow):
    wd, env, target = workflow
    assert "Nothing to be done" in snakemake(wd, "-n", "--cores", "1", target, env=env).stdout
    jobs = _jobs(snakemake(wd, "-n", "--cores", "1", target, "--forcerun", "train_transcoders", env=env))
    # config group_size 3 on the 6-layer toy: layer 4 is in group 1 (layers 3, 4, 5)
    assert jobs == [
        ("train_transcoders", (("group", "1"), ("model", "toy-reasoner"))),
        ("transcoder_layer", (("layer", "4"), ("model", "toy-reasoner"))),
    ]
    plan = snakemake(wd, "-n", "--cores", "1", "-p", target, "--forcerun", "train_transcoders", env=env).stdout
    assert "--layers 3,4,5 --selected results/sweep/selected.yaml" in plan


def test_group_size_one_is_exactly_one_layer(workflow):
    import yaml

    wd, env, target = workflow
    section = yaml.safe_load((wd / "config.yaml").read_text())["transcoders"]
    (wd / "overlay.yaml").write_text(yaml.safe_dump({"transcoders": {**section, "group_size": 1}}))
    proc = snakemake(wd, "-n", "--cores", "1", "-p", target, "--forcerun", "train_transcoders",
                     "--configfile", "overlay.yaml", env=env)
    jobs = _jobs(proc)
    assert ("train_transcoders", (("group", "4"), ("model", "toy-reasoner"))) in jobs
    assert [j for j in jobs if j[0] == "train_transcoders"] == [("train_transcoders", (("group", "4"), ("model", "toy-reasoner")))]
    assert "--layers 4 --selected" in proc.stdout
