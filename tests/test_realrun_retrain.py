"""One layer retrained alone (README "Partial reruns"), even when layers train in groups: the plan
holds exactly one training job and that layer's dependents, and a real run retrains that layer's
weights and nothing else."""

from __future__ import annotations

import hashlib
import os
import re
import shutil

import pytest

from cluster_helpers import REPO, clean_env, fabricate_outputs, parse_plan, snakemake
from conftest import copy_workflow

pytestmark = pytest.mark.workflow

MODEL, LAYER = "toy-reasoner", "3"
OTHER = "toy-base"


def retrain_args(model: str, layer: str) -> list[str]:
    """The documented command's arguments (README "Partial reruns")."""
    return ["--config", f"transcoders={{retrain_alone: {{{model}: [{layer}]}}}}",
            "--forcerun", f"results/{model}/transcoders/alone/L{layer}"]


def test_plan_has_one_training_job_and_only_that_layers_dependents(tmp_path):
    wd = copy_workflow(tmp_path)
    env = clean_env()
    plan = snakemake(wd, "-n", "--cores", "1", env=env)
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = parse_plan(plan.stdout)
    fabricate_outputs(wd, jobs)
    assert "Nothing to be done" in snakemake(wd, "-n", "--cores", "1", env=env).stdout
    proc = snakemake(wd, "-n", "--cores", "1", *retrain_args(MODEL, LAYER), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rerun = parse_plan(proc.stdout)
    training = [(j.rule, j.wildcards) for j in rerun if j.rule in ("train_transcoders", "train_transcoder_alone", "sweep_point")]
    assert training == [("train_transcoder_alone", {"model": MODEL, "layer": LAYER})], training
    alone = next(j for j in rerun if j.rule == "train_transcoder_alone")
    assert "--layers 3 " in alone.shell and "transcoders/alone/L3" in alone.shell
    per_layer = {(j.rule, j.wildcards["layer"]) for j in rerun if "layer" in j.wildcards}
    # the layer's own jobs; autointerp labels of every layer follow the ONE joint activation pass
    assert {r for r, layer in per_layer if layer != LAYER} <= {"autointerp_label"}, per_layer
    assert ("transcoder_layer", LAYER) in per_layer and ("evaluate_layer", LAYER) in per_layer
    assert not [j.rule for j in rerun if j.wildcards.get("model", MODEL) != MODEL], "the other model reruns"
    assert {"features_collect_toy_reasoner", "export_circuit_tracer", "graphs_build", "report"} <= {j.rule for j in rerun}
    assert not {"toy_model", "data_shards", "data_shards_mapped", "sweep_select"} & {j.rule for j in rerun}


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_retrain_changes_that_layers_weights_and_nothing_else(smoke_workflow, tmp_path):
    """On a copy of the finished smoke run (its 3 layers trained as ONE group), layer 1 is retrained
    alone with another seed and fewer tokens (changed settings): its weights change and now come from alone/L1;
    layers 0 and 2, the group directory and the other model keep their files untouched, and a
    later plain run has nothing to do. (A copy, not a run of its own: the smoke run's training is
    what the documented command meets, and building it again cost this test ~1 min.)"""
    wd = tmp_path / "wd"
    shutil.copytree(smoke_workflow, wd, symlinks=True)  # copy2: mtimes kept, so nothing is stale
    env = clean_env()
    targets = [f"results/{MODEL}/transcoders/L{i}/sae.safetensors" for i in range(3)]
    plain = snakemake(wd, *targets, "-n", "--configfile", "smoke.yaml", env=env)
    assert "Nothing to be done" in plain.stdout + plain.stderr, plain.stdout[-2000:]
    tc = wd / "results" / MODEL / "transcoders"
    group = tc / "groups" / "G0"
    trained = [*(tc / f"L{i}" / "sae.safetensors" for i in range(3)), *group.rglob("*.safetensors"),
               *(wd / "results" / OTHER / "transcoders").rglob("*.safetensors")]
    assert len(trained) >= 7, trained  # 3 layers, the group's files, the other model's
    before = {p: (_digest(p), p.stat().st_mtime_ns) for p in trained}
    (wd / "changed.yaml").write_text("transcoders: {seed: 7, train_tokens: 3000}\n")  # changed settings for that layer's retraining (fewer tokens: faster)
    proc = snakemake(wd, *targets, "--cores", "2", "--configfile", "smoke.yaml", "changed.yaml", *retrain_args(MODEL, "1"),
                     env=env, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    ran = set(re.findall(r"^(?:local)?rule (\w+):$", proc.stdout + proc.stderr, flags=re.M))
    assert ran == {"train_transcoder_alone", "transcoder_layer"}, ran  # one training job, one re-link
    retrained = tc / "L1" / "sae.safetensors"
    assert _digest(retrained) != before[retrained][0], "layer 1 was not retrained"
    assert os.path.samefile(retrained, tc / "alone" / "L1" / "L1" / "sae.safetensors")
    for path, (digest, mtime) in before.items():
        if path == retrained:
            continue
        assert (_digest(path), path.stat().st_mtime_ns) == (digest, mtime), f"{path} changed"
    # a later plain run keeps the retrained layer (no re-link to the group) and has nothing to do
    plain = snakemake(wd, *targets, "-n", "--configfile", "smoke.yaml", env=env)
    assert "Nothing to be done" in plain.stdout + plain.stderr, plain.stdout[-2000:]


def test_readme_documents_the_tested_command():
    import shlex

    readme = (REPO / "README.md").read_text()
    assert shlex.join(retrain_args("r1-distill-qwen-1.5b", "3")) in readme
