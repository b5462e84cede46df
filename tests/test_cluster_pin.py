"""GPU pinning on one multi-GPU machine, with fake device ids (the allocation logic, not CUDA).

Real processes hold real flock locks; a real `snakemake --profile profiles/gpu-local` run fans
GPU jobs out and each must see its own CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from r1interp.cluster.gpu_pin import PinSettings, acquire, discover_devices, parse_devices

REPO = Path(__file__).resolve().parents[1]

# The child records its CUDA_VISIBLE_DEVICES, then waits until the test drops a release file.
CHILD = textwrap.dedent(
    """
    import os, sys, time, pathlib
    out = pathlib.Path(sys.argv[1]); release = pathlib.Path(sys.argv[2])
    out.write_text(os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
    deadline = time.time() + 60
    while not release.exists() and time.time() < deadline:
        time.sleep(0.02)
    """
)


def pin_cmd(lock_dir: Path, *child_args: str, devices: str | None = "0,1,2", count: int = 1,
            timeout: float | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "r1interp.cluster", "pin", "--lock-dir", str(lock_dir), "--count", str(count)]
    if devices is not None:
        cmd += ["--devices", devices]
    if timeout is not None:
        cmd += ["--timeout", str(timeout)]
    return cmd + ["--", sys.executable, "-c", CHILD, *child_args]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CUDA_VISIBLE_DEVICES", "R1_GPU_DEVICES", "SLURM_JOB_ID", "R1_GPU_LOCK_DIR")}
    env.update(extra)
    return env


def wait_for_file(path: Path, timeout: float = 30) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} not written in {timeout}s")


def test_concurrent_jobs_get_distinct_devices_and_a_freed_device_is_reused(tmp_path):
    locks, release = tmp_path / "locks", tmp_path / "release"
    procs = [subprocess.Popen(pin_cmd(locks, str(tmp_path / f"cvd{i}"), str(release)), env=clean_env())
             for i in range(3)]
    fourth = None
    try:
        got = sorted(wait_for_file(tmp_path / f"cvd{i}") for i in range(3))
        assert got == ["0", "1", "2"]
        # all three held: a fourth job cannot get one within its timeout
        busy = subprocess.run(pin_cmd(locks, str(tmp_path / "cvd3"), str(release), timeout=0.5),
                              env=clean_env(), capture_output=True, text=True)
        assert busy.returncode != 0 and "no 1 free GPU" in busy.stderr
        # the job on device of procs[1] dies hard (SIGKILL): the kernel frees its lock
        victim = (tmp_path / "cvd1").read_text()
        procs[1].send_signal(signal.SIGKILL)
        procs[1].wait(timeout=10)
        fourth = subprocess.Popen(pin_cmd(locks, str(tmp_path / "cvd4"), str(release)), env=clean_env())
        assert wait_for_file(tmp_path / "cvd4") == victim
    finally:
        release.write_text("go")
        for p in procs + [fourth]:
            if p is not None and p.poll() is None:
                p.wait(timeout=30)


def test_multi_gpu_job_takes_all_or_nothing(tmp_path):
    locks, release = tmp_path / "locks", tmp_path / "release"
    holder = subprocess.Popen(pin_cmd(locks, str(tmp_path / "a"), str(release), devices="0,1,2"), env=clean_env())
    pair = None
    try:
        first = wait_for_file(tmp_path / "a")
        free = [d for d in ("0", "1", "2") if d != first]
        # two of three are free: a 2-GPU job gets exactly those
        pair = subprocess.Popen(pin_cmd(locks, str(tmp_path / "b"), str(release), devices="0,1,2", count=2),
                                env=clean_env())
        assert sorted(wait_for_file(tmp_path / "b").split(",")) == free
        # nothing left; a waiting 2-GPU job must not sit on a device it took (no deadlock)
        with pytest.raises(TimeoutError):
            acquire(PinSettings(devices=("0", "1", "2"), lock_dir=locks, count=2, timeout=0.3, poll=0.05))
    finally:
        release.write_text("go")
        for p in (holder, pair):
            if p is not None:
                p.wait(timeout=30)
    # all released now: the same call succeeds
    held = acquire(PinSettings(devices=("0", "1", "2"), lock_dir=locks, count=3, timeout=5))
    assert sorted(d for d, _ in held) == ["0", "1", "2"]
    for _, fd in held:
        os.close(fd)


def test_inside_slurm_or_without_gpus_the_command_runs_unpinned(tmp_path):
    release = tmp_path / "release"
    release.write_text("go")
    env = clean_env(SLURM_JOB_ID="123", CUDA_VISIBLE_DEVICES="5")
    subprocess.run(pin_cmd(tmp_path / "locks", str(tmp_path / "slurm"), str(release), devices=None),
                   env=env, check=True, timeout=60)
    assert (tmp_path / "slurm").read_text() == "5"  # SLURM's choice is kept
    env = clean_env(PATH="/nonexistent")  # no nvidia-smi, no device variables → nothing to pin
    cmd = pin_cmd(tmp_path / "locks", str(tmp_path / "cpu"), str(release), devices=None)
    subprocess.run(cmd, env=env, check=True, timeout=60)
    assert (tmp_path / "cpu").read_text() == "<unset>"


def test_device_discovery_order(tmp_path, monkeypatch):
    smi = tmp_path / "bin" / "nvidia-smi"  # a fake nvidia-smi listing two GPUs
    smi.parent.mkdir()
    smi.write_text("#!/bin/sh\necho 'GPU 0: Fake (UUID: GPU-a)'\necho 'GPU 1: Fake (UUID: GPU-b)'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{smi.parent}{os.pathsep}{os.environ['PATH']}")
    assert discover_devices({}) == ("0", "1")
    assert discover_devices({"CUDA_VISIBLE_DEVICES": "2,3"}) == ("2", "3")
    assert discover_devices({"CUDA_VISIBLE_DEVICES": "2,3", "R1_GPU_DEVICES": "4"}) == ("4",)
    assert discover_devices({"R1_GPU_DEVICES": "4"}, explicit="6,7") == ("6", "7")
    assert parse_devices(" 0, 1 ,") == ("0", "1")
    with pytest.raises(ValueError, match="duplicate"):
        parse_devices("0,0")


SNAKEFILE = '''
import os, sys
from r1interp.cluster import snakemake_resources

rule all:
    input: expand("out/L{layer}.json", layer=range(4)), "out/summary.txt"

rule train:
    output: "out/L{layer}.json"
    resources: **snakemake_resources(config, "gpu")
    shell:
        "python -m r1interp.cluster pin --count {resources.gpu} -- "
        "python -c 'import os, json, time, sys; t0 = time.time(); time.sleep(1.5); "
        "json.dump(dict(cvd=os.environ.get(\\"CUDA_VISIBLE_DEVICES\\"), start=t0, end=time.time()), "
        "open(sys.argv[1], \\"w\\"))' {output} 2> {output}.log"

rule summary:
    input: expand("out/L{layer}.json", layer=range(4))
    output: "out/summary.txt"
    resources: **snakemake_resources(config, "cpu")
    shell: "cat {input} > {output}"
'''


@pytest.mark.workflow
def test_gpu_local_profile_fans_out_one_job_per_device(tmp_path):
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    env = clean_env(R1_GPU_DEVICES="0,1", R1_GPU_LOCK_DIR=str(tmp_path / "locks"),
                    PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    # the profile's gpu=8 is the pod size; here the "pod" has two fake GPUs
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/gpu-local", "--resources", "gpu=2"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Using profiles profiles/gpu-local and workflow specific profile profiles/default" in proc.stderr
    jobs = [json.loads((tmp_path / "out" / f"L{i}.json").read_text()) for i in range(4)]
    assert all(j["cvd"] in ("0", "1") for j in jobs), jobs
    overlapping = [(a, b) for i, a in enumerate(jobs) for b in jobs[i + 1:]
                   if a["start"] < b["end"] and b["start"] < a["end"]]
    assert overlapping, f"no two GPU jobs ran side by side: {jobs}"
    assert all(a["cvd"] != b["cvd"] for a, b in overlapping), jobs
    # never more jobs at once than GPUs (the gpu resource caps the local scheduler)
    for j in jobs:
        assert sum(o["start"] <= j["start"] < o["end"] for o in jobs) <= 2, jobs
