"""Helpers for the cluster tests: parse a Snakemake dry-run plan, hide SLURM, run snakemake."""

from __future__ import annotations

import os
import time
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SLURM_TOOLS = {"sbatch", "squeue", "sinfo", "scontrol", "sacct", "srun", "scancel", "sacctmgr", "sshare",
               "salloc", "sstat", "sattach", "sprio", "sreport", "sdiag", "strigger", "sbcast", "scrontab"}
# Variables that must not leak into a test's snakemake (secrets, or a SLURM context of the caller).
DROP_ENV = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "SLURM_JOB_ID", "SLURM_CONF", "CUDA_VISIBLE_DEVICES",
            "R1_GPU_DEVICES")


@dataclass
class PlannedJob:
    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    shell: str | None = None


def _pairs(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(r"(\w+)=(.*?)(?=, \w+=|$)", text.strip())}


def parse_plan(text: str) -> list[PlannedJob]:
    """Jobs of `snakemake -n --printshellcmds` output (rule, output, wildcards, resources, shell)."""
    jobs: list[PlannedJob] = []
    job: PlannedJob | None = None
    for line in text.splitlines():
        m = re.match(r"^(?:local)?rule (\w+):$", line)
        if m:
            job = PlannedJob(rule=m.group(1))
            jobs.append(job)
            continue
        if job is None:
            continue
        if line.startswith("    input: "):
            job.inputs = [i.strip() for i in line[len("    input: "):].split(", ")]
        elif line.startswith("    output: "):
            job.outputs = [o.strip() for o in line[len("    output: "):].split(", ")]
        elif line.startswith("    wildcards: "):
            job.wildcards = _pairs(line[len("    wildcards: "):])
        elif line.startswith("    resources: "):
            job.resources = _pairs(line[len("    resources: "):])
        elif line.startswith("Shell command: "):
            cmd = line[len("Shell command: "):].strip()
            job.shell = None if cmd == "None" else cmd
        elif line.startswith("Job stats:"):
            job = None
    return jobs


def env_without_slurm(tmp: Path, **extra: str) -> dict[str, str]:
    """os.environ where no SLURM client can be found: PATH dirs are mirrored minus SLURM tools.

    Why: "plans on a machine without SLURM" must hold even on a machine (CI) where the test
    cluster's packages are installed.
    """
    shadow = tmp / "no-slurm-bin"
    shadow.mkdir(parents=True, exist_ok=True)
    path = [str(Path(sys.executable).parent)]
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d) or d in path:
            continue
        has_slurm = any(os.path.exists(os.path.join(d, t)) for t in SLURM_TOOLS)
        if not has_slurm:
            path.append(d)
            continue
        for name in os.listdir(d):
            link = shadow / name
            if name not in SLURM_TOOLS and not link.exists() and not link.is_symlink():
                link.symlink_to(os.path.join(d, name))
        path.append(str(shadow))
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env["PATH"] = os.pathsep.join(path)
    env.update(extra)
    return env


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without secrets or caller SLURM context, the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def snakemake(workdir: Path, *args: str, env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def link_profile_as_name(xdg_config_home: Path, name: str, profile_dir: Path) -> None:
    """Make `snakemake --profile <name>` find ``profile_dir`` (Snakemake looks in
    ``$XDG_CONFIG_HOME/snakemake/<name>``, the cwd and /etc/xdg/snakemake)."""
    target = xdg_config_home / "snakemake" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(profile_dir.resolve(), target_is_directory=True)


# A toy workflow small enough for a CI run through SLURM (the schema's minimums where they bind).
TINY_OVERLAY = {
    "toy": {
        "n_problems": 300,
        "vocab_size": 300,
        "model": {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                  "num_key_value_heads": 1, "max_position_embeddings": 128},
        "train": {"steps": 20, "pretrain_fraction": 0.4, "batch_size": 8, "seq_len": 64},
    },
    "data": {"train_tokens": 20000, "eval_tokens": 3000, "max_seq_len": 128},
    "resources": {
        "gpu": {"gpu": 1, "gpu_model": "fakegpu", "cpus_per_gpu": 1, "mem_mb": 1000, "runtime": 20,
                "slurm_partition": "gpu"},
        "cpu": {"mem_mb": 1000, "runtime": 20, "slurm_partition": "cpu"},
    },
}


# Small training settings, applied only where the stage's schema declares the key (the training and
# sweep stages own their sections; a key they do not have is left out rather than guessed).
SMALL_STAGE_SETTINGS = {
    "transcoders": {"group_size": 1, "train_tokens": 4096, "seq_len": 64, "batch_size": 8, "save_every": 1000,
                    "expansion_factor": 2, "k": 4},
    "sweep": {"model": "toy-reasoner", "pilot_layers": [0], "train_tokens": 2048, "eval_tokens": 1024, "validation_tokens": 1024,
              "grid": {"expansion_factor": [2], "k": [4], "lr": [0.003], "skip_connection": [True]}},
}


def tiny_overlay(workdir: Path) -> dict:
    """TINY_OVERLAY plus the SMALL_STAGE_SETTINGS keys that the workflow's stage schemas declare."""
    overlay = {k: (dict(v) if isinstance(v, dict) else v) for k, v in TINY_OVERLAY.items()}
    for section, values in SMALL_STAGE_SETTINGS.items():
        schema_file = workdir / "schemas" / "stages" / f"{section}.schema.yaml"
        if not schema_file.is_file():
            continue
        known = (yaml.safe_load(schema_file.read_text()) or {}).get("properties", {})
        chosen = {k: v for k, v in values.items() if k in known}
        if chosen:
            overlay[section] = chosen
    return overlay


def training_targets(workdir: Path, env: dict[str, str], config_args: list[str], model: str = "toy-reasoner") -> list[str]:
    """Per-layer transcoder files of ``model`` if the workflow can make them, else []."""
    cfg = yaml.safe_load((workdir / "config.yaml").read_text())
    n_layers = TINY_OVERLAY["toy"]["model"]["num_hidden_layers"]
    assert cfg["models"][model]["source"] == "toy"
    targets = [f"results/{model}/transcoders/L{layer}/sae.safetensors" for layer in range(n_layers)]
    probe = snakemake(workdir, *targets, "-n", "--cores", "1", *config_args, env=env, timeout=180)
    if probe.returncode != 0 and "MissingRuleException" in probe.stderr + probe.stdout:
        return []
    assert probe.returncode == 0, probe.stderr[-4000:]
    return targets


def fabricate_outputs(workdir: Path, jobs) -> None:
    """Create every planned output, upstream older than downstream (directories: no suffix)."""
    producer = {o: j for j in jobs for o in j.outputs}
    depth: dict[int, int] = {}

    def job_depth(job) -> int:
        if id(job) not in depth:
            ups = [producer[i] for i in job.inputs if i in producer and producer[i] is not job]
            depth[id(job)] = 1 + max((job_depth(u) for u in ups), default=0)
        return depth[id(job)]

    base = time.time() - 10_000
    for job in jobs:  # inputs no job makes (config files, source data) are older than every output
        for src in job.inputs:
            if src not in producer and (workdir / src).exists():
                os.utime(workdir / src, (base - 10, base - 10))
    for job in jobs:
        t = base + 10 * job_depth(job)
        for out in job.outputs:
            path = workdir / out
            if Path(out).suffix:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(b"")
            else:
                path.mkdir(parents=True, exist_ok=True)
            os.utime(path, (t, t))
