"""Profiles: what `--profile profiles/gpu` / `--profile gpu` / `profiles/gpu-local` really set, the
workflow-profile merge pitfall, and the dry-run plan of the real workflow under the SLURM profile.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cluster_helpers import REPO, env_without_slurm, link_profile_as_name, parse_plan, snakemake
from r1interp.cluster import rule_resources

# Keys that decide how many jobs run where and with what: never in the workflow profile.
FORBIDDEN_IN_DEFAULT = {"cores", "jobs", "resources", "default-resources", "set-resources", "set-threads",
                        "executor", "retries", "local-cores", "max-threads", "set-resource-scopes", "profile"}


def parse_cli(workdir: Path, monkeypatch, *argv: str):
    """Snakemake's own argument parsing, as run from ``workdir`` (where profiles/default is found)."""
    from snakemake.cli import parse_args

    monkeypatch.chdir(workdir)
    return parse_args(list(argv))[1]


@pytest.fixture
def workdir(tmp_path):
    """A copy of the workflow's entry files and profiles (enough for argument parsing)."""
    shutil.copy(REPO / "Snakefile", tmp_path / "Snakefile")
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    return tmp_path


def test_gpu_profile_submits_through_slurm_with_squeue_status_and_no_params_trigger(workdir, monkeypatch):
    args = parse_cli(workdir, monkeypatch, "--profile", "profiles/gpu", "-n")
    assert args.executor == "slurm"
    assert args.jobs >= 8 and args.retries >= 1 and args.latency_wait >= 30
    assert args.slurm_status_command == "squeue"
    # squeue only sees finished jobs for MinJobAge (default 300 s): the first check must come well before
    assert 3 * args.slurm_init_seconds_before_status_checks <= 300
    assert {t.name for t in args.rerun_triggers} == {"MTIME", "INPUT", "CODE", "SOFTWARE_ENV"}
    assert args.cores is None  # a --cores from a profile would cap every cluster job's threads
    # safety net for a rule without config resources: explicit memory and wall time, not Snakemake's
    assert args.default_resources["mem_mb"].value > 0 and args.default_resources["runtime"].value > 0


def test_gpu_local_profile_runs_locally_with_a_gpu_resource(workdir, monkeypatch):
    args = parse_cli(workdir, monkeypatch, "--profile", "profiles/gpu-local", "-n")
    assert args.executor in (None, "local")
    assert args.resources["gpu"].value == 8
    assert args.cores >= 1
    # a --resources on the command line replaces the profile's (the pod's real GPU count)
    args = parse_cli(workdir, monkeypatch, "--profile", "profiles/gpu-local", "--resources", "gpu=4", "-n")
    assert args.resources["gpu"].value == 4


def test_workflow_profile_wins_key_by_key_so_it_must_hold_no_resource_keys(workdir, monkeypatch):
    default = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert not FORBIDDEN_IN_DEFAULT & set(default), FORBIDDEN_IN_DEFAULT & set(default)
    for name in ("gpu", "gpu-local"):
        cluster = yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())
        clash = {k for k in set(default) & set(cluster) if default[k] != cluster[k]}
        assert not clash, f"profiles/default overrides profiles/{name}: {clash}"
    # The pitfall itself, shown with Snakemake's parser: a key in profiles/default beats --profile's.
    (workdir / "profiles/default/config.yaml").write_text(
        (REPO / "profiles/default/config.yaml").read_text() + "\njobs: 1\nlatency-wait: 7\n")
    args = parse_cli(workdir, monkeypatch, "--profile", "profiles/gpu", "-n")
    assert args.jobs == 1 and args.latency_wait == 7


def test_profile_name_gpu_resolves_through_the_user_config_dir(workdir, monkeypatch, tmp_path):
    """`--profile gpu` is looked up in the cwd, $XDG_CONFIG_HOME/snakemake and /etc/xdg/snakemake —
    not in ./profiles — so the README links ~/.config/snakemake/gpu to profiles/gpu."""
    import snakemake.common

    xdg = tmp_path / "xdg"
    link_profile_as_name(xdg, "gpu", workdir / "profiles/gpu")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setattr(snakemake.common, "APPDIRS", None)  # Snakemake caches the dirs per process
    args = parse_cli(workdir, monkeypatch, "--profile", "gpu", "-n")
    assert args.executor == "slurm" and args.slurm_status_command == "squeue"


# --- the real workflow, planned under `--profile gpu` on a machine without SLURM -------------------

OVERLAY = {
    "resources": {
        "slurm_account": "acct-test",
        "gpu": {"gpu": 1, "gpu_model": "testgpu", "cpus_per_gpu": 3, "mem_mb": 11111, "runtime": 111,
                "slurm_partition": "gpu-test"},
        "cpu": {"mem_mb": 2222, "runtime": 22, "slurm_partition": "cpu-test"},
    }
}
# Stages whose jobs must be GPU jobs, recognised by their output paths (docs/architecture.md).
GPU_OUTPUTS = {
    "transcoder training": r"results/[^/]+/transcoders/groups/G\d+$",
    "activation collection": r"results/[^/]+/features/L\d+\.stats\.parquet",
    "attribution graphs": r"results/[^/]+/graphs/build/",
}


@pytest.fixture(scope="module")
def gpu_plan(tmp_path_factory):
    """`snakemake --profile gpu -n` on a temp copy of the workflow, SLURM hidden from PATH."""
    from conftest import copy_workflow

    wd = copy_workflow(tmp_path_factory.mktemp("wf-plan"))
    (wd / "overlay.yaml").write_text(yaml.safe_dump(OVERLAY))
    xdg = wd / "xdg"
    link_profile_as_name(xdg, "gpu", wd / "profiles/gpu")
    env = env_without_slurm(wd, XDG_CONFIG_HOME=str(xdg))
    proc = snakemake(wd, "--profile", "gpu", "-n", "--configfile", "config.yaml", "overlay.yaml", env=env,
                     timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:] + proc.stdout[-2000:]
    assert "Using profiles gpu and workflow specific profile profiles/default" in proc.stderr
    config = yaml.safe_load((wd / "config.yaml").read_text())
    config["resources"] = {**config.get("resources", {}), **OVERLAY["resources"]}
    return parse_plan(proc.stdout), config


def expected(config: dict, cls: str, rule: str) -> dict[str, str]:
    return {k: str(v) for k, v in rule_resources(config, cls, 1, rule).items()}


def test_every_planned_job_requests_its_class_resources_from_config(gpu_plan):
    jobs, config = gpu_plan
    runnable = [j for j in jobs if j.shell is not None]
    assert runnable, "the plan has no jobs"
    wrong: dict[str, str] = {}
    for job in runnable:
        cls = "gpu" if "gpu" in job.resources else "cpu"
        want = expected(config, cls, job.rule)
        got = {k: job.resources.get(k) for k in want}
        if got != want or (cls == "cpu" and "cpus_per_gpu" in job.resources):
            wrong[job.rule] = f"{job.rule}: planned {got} (expected {cls} class {want})"
    assert not wrong, "rules without `resources: **gpu_resources()` / `**cpu_resources()`:\n" + "\n".join(
        wrong.values())


@pytest.mark.parametrize("stage", sorted(GPU_OUTPUTS))
def test_gpu_stages_are_planned_as_gpu_jobs(gpu_plan, stage):
    import re

    jobs, config = gpu_plan
    pattern = re.compile(GPU_OUTPUTS[stage])
    stage_jobs = [j for j in jobs if j.shell is not None and any(pattern.match(o) for o in j.outputs)]
    assert stage_jobs, f"{stage}: no job in the workflow's plan writes {GPU_OUTPUTS[stage]}"
    for job in stage_jobs:
        assert job.resources.get("gpu") == "1", f"{job.rule} plans without a GPU: {job.resources}"
        assert job.resources.get("slurm_partition") == "gpu-test" and job.resources.get("gpu_model") == "testgpu"
