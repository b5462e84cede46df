"""Partial reruns: one layer and only its dependents, stopping at a stage, and the rerun policy
(profiles/default: a changed `params` value alone reruns nothing, so a report-only edit never
retrains). Run for real on a small per-layer workflow that uses the repo's profiles, then the
same layer-scoped rerun is planned on the real workflow.
"""

from __future__ import annotations

import shutil

import pytest

from cluster_helpers import REPO, clean_env, fabricate_outputs, parse_plan, snakemake

pytestmark = pytest.mark.workflow

# train (per layer, GPU) → evaluate (per layer) → report (all layers): the workflow's shape.
SNAKEFILE = '''
LAYERS = range(3)

rule all:
    input: "out/report.txt"

rule train:
    output: "out/L{layer}/sae.txt"
    params: lr=config.get("lr", 0.001)
    # a fresh value per run: Snakemake 9 does not rerun dependents of a rewritten but byte-identical
    # file (it compares recorded checksums), and real retraining changes the weights
    shell: "echo lr={params.lr} run=$(date +%s%N) > {output}"

rule evaluate:
    input: "out/L{layer}/sae.txt"
    output: "out/L{layer}/eval.txt"
    shell: "cat {input} > {output}"

rule report:
    input: expand("out/L{layer}/eval.txt", layer=LAYERS)
    output: "out/report.txt"
    params: title=config.get("title", "R1 vs base")
    shell: "echo {params.title:q} | cat - {input} > {output}"
'''


def planned(proc) -> list[tuple[str, str]]:
    assert proc.returncode == 0, proc.stderr[-3000:]
    return sorted((j.rule, j.wildcards.get("layer", "")) for j in parse_plan(proc.stdout))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    wd = tmp_path_factory.mktemp("reruns")
    shutil.copytree(REPO / "profiles", wd / "profiles")
    (wd / "Snakefile").write_text(SNAKEFILE)
    env = clean_env()
    proc = snakemake(wd, "--cores", "2", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "workflow specific profile profiles/default" in proc.stderr
    return wd, env


def test_report_only_edit_reruns_nothing_under_the_workflow_profile(built):
    wd, env = built
    assert planned(snakemake(wd, "-n", "--config", "title=New title", env=env)) == []
    # what the policy prevents: Snakemake's default triggers rerun the job whose params changed
    assert planned(snakemake(wd, "-n", "--workflow-profile", "none", "--config", "title=New title", env=env)) == [
        ("all", ""), ("report", "")]


def test_training_setting_change_is_applied_with_forcerun(built):
    """Under the policy a changed training setting reruns nothing by itself: force the rule."""
    wd, env = built
    jobs = planned(snakemake(wd, "-n", "--config", "lr=0.01", "--forcerun", "train", env=env))
    assert jobs == sorted([("all", "")] + [(r, str(l)) for r in ("train", "evaluate") for l in range(3)]
                          + [("report", "")])


def test_one_layer_and_only_its_dependents(built):
    wd, env = built
    jobs = planned(snakemake(wd, "-n", "--forcerun", "out/L1/sae.txt", env=env))
    assert jobs == [("all", ""), ("evaluate", "1"), ("report", ""), ("train", "1")]


def test_until_stops_at_a_stage(built):
    wd, env = built
    jobs = planned(snakemake(wd, "-n", "--forcerun", "train", "--until", "train", env=env))
    assert jobs == [("train", str(l)) for l in range(3)]
    # and it really runs only those: the report keeps its old content and time
    before = (wd / "out/report.txt").stat().st_mtime_ns
    proc = snakemake(wd, "--cores", "2", "--forcerun", "out/L2/sae.txt", "--until", "train", env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (wd / "out/report.txt").stat().st_mtime_ns == before
    assert (wd / "out/L2/sae.txt").stat().st_mtime_ns > before
    # the next plain run picks up from there: layer 2's dependents only
    assert planned(snakemake(wd, "-n", env=env)) == [("all", ""), ("evaluate", "2"), ("report", "")]


# --- the same on the real workflow (planned on fabricated outputs: only file times matter) --------

def test_real_workflow_rebuilds_one_layer_of_one_model_only(tmp_path):
    from conftest import copy_workflow

    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    env = clean_env()
    plan = snakemake(wd, "-n", "--cores", "1", env=env)
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = parse_plan(plan.stdout)
    layer_jobs = [j for j in jobs if "layer" in j.wildcards and "model" in j.wildcards]
    assert layer_jobs, "the workflow plans no per-layer jobs"
    fabricate_outputs(wd, jobs)
    assert "Nothing to be done" in snakemake(wd, "-n", "--cores", "1", env=env).stdout
    target = sorted(layer_jobs, key=lambda j: (j.wildcards["model"], int(j.wildcards["layer"])))[0]
    model, layer = target.wildcards["model"], target.wildcards["layer"]
    rerun = parse_plan(snakemake(wd, "-n", "--cores", "1", "--forcerun", target.outputs[0], env=env).stdout)
    assert any(j.rule == target.rule and j.wildcards == target.wildcards for j in rerun), "the forced job is not planned"
    others = [j for j in rerun if j.wildcards.get("layer", layer) != layer or j.wildcards.get("model", model) != model]
    # per-layer jobs of other layers or models must not rerun; cross-layer summaries may. The one
    # exception is by design: activation collection is ONE model pass over all layers, so the plan
    # lists every layer's labels after it (at run time, byte-identical feature tables of the other
    # layers stop that cascade: Snakemake compares checksums).
    joint_pass_dependents = {"autointerp_label"}
    assert not [j for j in others if "layer" in j.wildcards and j.rule not in joint_pass_dependents], [
        (j.rule, j.wildcards) for j in others]
    assert not [j for j in others if j.wildcards.get("model", model) != model], "another model reruns"
    # nothing upstream of the forced job (data, model, sweep) reruns
    producer = {o: j for j in jobs for o in j.outputs}
    upstream, todo = set(), list(target.inputs)
    while todo:
        job = producer.get(todo.pop())
        if job is not None and id(job) not in upstream:
            upstream.add(id(job))
            todo.extend(job.inputs)
    upstream_outputs = {o for j in jobs if id(j) in upstream for o in j.outputs}
    assert not [j.rule for j in rerun if set(j.outputs) & upstream_outputs]
