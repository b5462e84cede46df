"""The `gpu` profile against a real SLURM: scripts/slurm-local.sh's one-node cluster, 2 fake GPUs.

Marked `slurm`. The session fixture uses a cluster that is already up (`.ci/run` starts one) or
brings one up itself when it can (root, apt or the packages present, not disabled with
R1INTERP_SLURM_TESTS=0); otherwise every test here is skipped with the reason. What is checked is
SLURM's own record of the jobs (squeue/scontrol while slurmctld keeps them, MinJobAge=300 s) and
the environment each job saw.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cluster_helpers import REPO, clean_env, parse_plan, snakemake, tiny_overlay, training_targets

pytestmark = pytest.mark.slurm

SCRIPT = REPO / "scripts" / "slurm-local.sh"
# Settings for test runs only: a status check every few seconds instead of every 40 s, keep the
# per-job SLURM logs (they hold the job's environment with --verbose) for the assertions.
FAST = ["--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs", "--verbose"]


def _skip_reason() -> str | None:
    if os.environ.get("R1INTERP_SLURM_TESTS", "1") == "0":
        return "disabled by R1INTERP_SLURM_TESTS=0"
    if not sys.platform.startswith("linux"):
        return "the local SLURM cluster needs Linux"
    if os.geteuid() != 0:
        return "scripts/slurm-local.sh needs root (it installs slurm-wlm and runs the daemons)"
    if shutil.which("slurmctld") is None and not os.path.exists("/usr/sbin/slurmctld") and shutil.which("apt-get") is None:
        return "no SLURM packages and no apt-get to install them"
    return None


@pytest.fixture(scope="session")
def slurm_cluster():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    status = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True)
    started_here = status.returncode != 0
    if started_here:
        up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=600)
        if up.returncode == 3:  # the script's "cannot run here" (no root/apt/packages, foreign slurm.conf)
            pytest.skip(f"local SLURM not available: {up.stderr.strip().splitlines()[-1]}")
        assert up.returncode == 0, f"scripts/slurm-local.sh up failed:\n{up.stderr[-3000:]}"
    yield
    if started_here:
        subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, text=True, timeout=120)


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout


def run_jobs(stderr: str) -> list[dict[str, str]]:
    """SLURM's record of every job of the snakemake run whose log is ``stderr``."""
    run_id = re.search(r"SLURM run ID: (\S+)", stderr)
    assert run_id, "the slurm executor did not report its run ID:\n" + stderr[-2000:]
    jobs = []
    for line in sh("squeue", "-h", "--states=all", "--name", run_id.group(1), "-o", "%i|%T|%P|%k").splitlines():
        job_id, state, partition, comment = line.split("|", 3)
        detail = sh("scontrol", "-d", "show", "job", job_id)
        fields = dict(re.findall(r"(\w+)=(\S*)", detail))
        jobs.append({"id": job_id, "state": state, "partition": partition, "comment": comment.strip(),
                     "tres_per_job": fields.get("TresPerJob", ""), "mem": fields.get("MinMemoryNode", ""),
                     "time_limit": fields.get("TimeLimit", ""), "cpus_per_tres": fields.get("CpusPerTres", "")})
    return jobs


def job_environment(workdir: Path, job_id: str) -> dict[str, str]:
    """Variables the job's snakemake step saw (its --verbose SLURM log prints os.environ)."""
    logs = list((workdir / ".snakemake" / "slurm_logs").rglob(f"{job_id}.log"))
    assert logs, f"no SLURM log for job {job_id}"
    return dict(re.findall(r"'([A-Z_][A-Z0-9_]*)': '([^']*)'", logs[0].read_text()))


FANOUT_SNAKEFILE = '''
import os, sys
from r1interp.cluster import snakemake_resources

os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

rule all:
    input: "out/summary.txt"

rule train_layer:
    output: "out/L{layer}.txt"
    resources: **snakemake_resources(config, "gpu")
    # layer 2 "runs out of memory" on its first attempt: the retry must ask SLURM for more
    shell:
        "if [ {wildcards.layer} = 2 ] && [ {resources.mem_mb} -lt 600 ]; then exit 1; fi; "
        "python -m r1interp.cluster pin --count {resources.gpu} -- "
        "sh -c 'echo layer={wildcards.layer} job=$SLURM_JOB_ID cvd=$CUDA_VISIBLE_DEVICES python=$(command -v python)' "
        "> {output}"

rule summary:
    input: expand("out/L{layer}.txt", layer=range(3))
    output: "out/summary.txt"
    resources: **snakemake_resources(config, "cpu")
    shell: "cat {input} > {output}"
'''

FANOUT_CONFIG = {"resources": {
    "gpu": {"gpu": 1, "gpu_model": "fakegpu", "cpus_per_gpu": 1, "mem_mb": 500, "runtime": 5, "slurm_partition": "gpu"},
    "cpu": {"mem_mb": 300, "runtime": 5, "slurm_partition": "cpu"},
    "retry_scaling": {"mem_mb": 1.5, "runtime": 2.0},
}}


def test_each_layer_is_its_own_gpu_job_and_retries_ask_for_more(slurm_cluster, tmp_path):
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    (tmp_path / "Snakefile").write_text(FANOUT_SNAKEFILE)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(FANOUT_CONFIG))
    proc = snakemake(tmp_path, "--profile", "profiles/gpu", "--configfile", "config.yaml", *FAST,
                     env=clean_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = run_jobs(proc.stderr)
    train = [j for j in jobs if j["comment"].startswith("rule_train_layer")]
    summary = [j for j in jobs if j["comment"] == "rule_summary"]
    # one SLURM job per layer (+ layer 2's failed first attempt), never a shared one
    assert sorted(j["comment"] for j in train if j["state"] == "COMPLETED") == [
        f"rule_train_layer_wildcards_{i}" for i in range(3)]
    for j in train:
        assert j["partition"] == "gpu" and j["tres_per_job"] == "gres:gpu:fakegpu:1", j
        assert j["cpus_per_tres"] == "gres:gpu:1", j
    first, retry = sorted((j for j in train if j["comment"].endswith("_2")), key=lambda j: int(j["id"]))
    assert (first["state"], first["mem"], first["time_limit"]) == ("FAILED", "500M", "00:05:00")
    assert (retry["state"], retry["mem"], retry["time_limit"]) == ("COMPLETED", "750M", "00:10:00")
    assert len(summary) == 1 and summary[0]["partition"] == "cpu" and summary[0]["tres_per_job"] in ("", "(null)")
    # inside each job: its own SLURM job id, a GPU chosen by SLURM, the venv's python
    lines = (tmp_path / "out/summary.txt").read_text().splitlines()
    seen = dict(re.match(r"layer=(\d) job=(\d+) cvd=(\S*) python=(\S+)", l).group(1, 2) for l in lines)
    assert sorted(seen) == ["0", "1", "2"] and len(set(seen.values())) == 3
    for line in lines:
        cvd, python = re.search(r"cvd=(\S*) python=(\S+)", line).groups()
        assert cvd in ("0", "1"), line
        assert Path(python).parent == Path(sys.executable).parent, line
    env = job_environment(tmp_path, summary[0]["id"])
    assert "CUDA_VISIBLE_DEVICES" not in env  # a CPU job gets no GPU


# --- the real toy workflow's training stage -----------------------------------------------------

TRAIN_OUTPUT = re.compile(r"results/(?P<model>[^/]+)/transcoders/L(?P<layer>\d+)/sae\.safetensors")
# The SLURM job of training: one group directory per job (group_size 1: one layer per job); the
# per-layer files are then hard-linked out of it by a local rule.
TRAIN_JOB_OUTPUT = re.compile(r"results/(?P<model>[^/]+)/transcoders/groups/G(?P<group>\d+)$")


def test_toy_training_stage_runs_one_slurm_gpu_job_per_layer(slurm_cluster, tmp_path):
    from conftest import copy_workflow

    (tmp_path / "wf").mkdir()
    wd = copy_workflow(tmp_path / "wf")
    (wd / "overlay.yaml").write_text(yaml.safe_dump(tiny_overlay(wd)))
    cfg = ["--configfile", "config.yaml", "overlay.yaml"]  # nargs="+": always last on the command line
    env = clean_env()
    targets = training_targets(wd, env, cfg)
    assert targets, "the workflow has no transcoder training rule for the per-layer targets"
    plan = parse_plan(snakemake(wd, *targets, "-n", "--cores", "1", *cfg, env=env).stdout)
    train_rules = sorted({j.rule for j in plan if any(TRAIN_JOB_OUTPUT.match(o) for o in j.outputs)})
    assert train_rules, "no training job in the plan"
    # everything upstream of training runs locally; then only the training jobs go to SLURM
    local = snakemake(wd, *targets, "--cores", "2", "--omit-from", *train_rules, *cfg, env=env, timeout=600)
    assert local.returncode == 0, local.stderr[-4000:]
    proc = snakemake(wd, *targets, "--profile", "profiles/gpu", *FAST, *cfg, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    jobs = run_jobs(proc.stderr)
    done = [j for j in jobs if j["state"] == "COMPLETED"]
    assert {j["comment"].split("_wildcards_")[0] for j in jobs} == {f"rule_{r}" for r in train_rules}
    layers = {(m["model"], m["layer"]) for m in map(TRAIN_OUTPUT.match, targets)}
    assert len(done) == len(layers), f"{len(done)} SLURM jobs for {len(layers)} layers: {done}"
    for j in done:
        assert j["partition"] == "gpu" and j["tres_per_job"] == "gres:gpu:fakegpu:1", j
        env_in_job = job_environment(wd, j["id"])
        assert env_in_job.get("CUDA_VISIBLE_DEVICES") in ("0", "1"), (j, env_in_job.get("CUDA_VISIBLE_DEVICES"))
        assert env_in_job.get("SLURM_JOB_ID") == j["id"]
    for t in targets:
        assert (wd / t).stat().st_size > 0, t


def running(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_down_stops_exactly_its_daemons_and_up_restores(slurm_cluster):
    """`down` kills the PIDs `up` recorded, not other processes with the same names."""
    state = Path(os.environ.get("R1_SLURM_DIR", "/tmp/r1interp-slurm"))
    pids = {name: int((state / "pids" / f"{name}.pid").read_text()) for name in ("munged", "slurmctld", "slurmd")}
    decoy = subprocess.Popen(["bash", "-c", "exec -a slurmd sleep 120"])
    try:
        down = subprocess.run(["bash", str(SCRIPT), "down"], capture_output=True, text=True, timeout=120)
        assert down.returncode == 0, down.stderr
        for name, pid in pids.items():
            assert not running(pid), f"{name} (pid {pid}) still running after down"
        assert decoy.poll() is None, "down killed a process it did not start"
        assert not Path("/etc/slurm/slurm.conf").is_symlink()
        assert subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True).returncode != 0
    finally:
        decoy.kill()
        up = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr
    assert "idle" in sh("sinfo", "-h", "-p", "gpu", "-o", "%t")
