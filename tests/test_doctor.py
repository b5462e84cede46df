"""``r1interp doctor``: the table on this machine, with the toy and the real configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

from r1interp.doctor.checks import FAIL, OK, WARN, device_checks, memory_checks, model_file_checks, package_checks, slurm_checks

REAL = """run:
  models: [r1-distill-qwen-1.5b, qwen2.5-math-1.5b]
  pairs: [{reasoner: r1-distill-qwen-1.5b, base: qwen2.5-math-1.5b}]
  prompt_set: benchmark
"""


def _doctor(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, with an empty Hugging Face cache (the CI machine's state)."""
    e = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    e.update(HF_HUB_CACHE=str(tmp_path / "hf-cache"), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO / "src"), **env)
    return subprocess.run([sys.executable, "-m", "r1interp.cli", "doctor", "--config", str(REPO / "config.yaml"), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=e, timeout=120)


@pytest.fixture(scope="module")
def cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def test_real_configuration_is_blocked_here(tmp_path, cuda):
    if cuda:
        pytest.skip("this test describes a machine without a GPU")
    (tmp_path / "real.yaml").write_text(REAL)
    proc = _doctor(tmp_path, "--configfile", "real.yaml")
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines()}
    assert "FAIL" in rows["torch device"] and "no GPU" in rows["torch device"]
    for key, repo in (("r1-distill-qwen-1.5b", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"), ("qwen2.5-math-1.5b", "Qwen/Qwen2.5-Math-1.5B")):
        line = rows[f"model {key}"]
        assert "FAIL" in line and "not in the local Hugging Face cache" in line and f"huggingface-cli download {repo}" in line
    assert "warn" in rows["ANTHROPIC_API_KEY"] and "unset" in rows["ANTHROPIC_API_KEY"]
    assert "package torch" in rows and "SLURM" in rows and "disk space" in rows
    assert any(k.startswith("gpu profile") for k in rows)  # "gpu profile" without SLURM, "... partition"/"... account" with it
    assert "blocking" in out.splitlines()[-1]


def test_toy_default_passes_and_key_value_never_shown(tmp_path):
    proc = _doctor(tmp_path, ANTHROPIC_API_KEY="sk-ant-secret-value-123")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "sk-ant-secret-value-123" not in proc.stdout + proc.stderr
    key_row = next(line for line in proc.stdout.splitlines() if line.startswith("ANTHROPIC_API_KEY"))
    assert " ok " in key_row and "set" in key_row
    assert "0 blocking" in proc.stdout


def test_pins_and_missing_packages():
    versions = {"torch": "2.12.0", "pandas": "2.2.3"}
    rows = package_checks(["torch==2.13.0", "pandas>=2.2", "neuronpedia>=1.2"], versions.get)
    assert [r.status for r in rows] == [FAIL, OK, FAIL]
    assert "2.12.0 installed, pin is ==2.13.0" in rows[0].detail and rows[2].fix == 'pip install "neuronpedia>=1.2"'


def test_gpu_memory_against_budgets():
    from r1interp.doctor.checks import ModelShape

    shape = [ModelShape("r1", "hf", 28, 1536, 1_777_088_000, 2)]
    cfg = {"graphs": {"dtype": "bfloat16", "batch_size": 32, "max_context": 512}, "transcoders": {"group_size": 7},
           "sweep": {"grid": {"expansion_factor": [32]}}}
    fp32 = {**cfg, "graphs": {**cfg["graphs"], "dtype": "float32"}}
    small = memory_checks(fp32, shape, [("A10", 24 * 1024**3)], Path("/nonexistent"))
    big = memory_checks(cfg, shape, [("H100", 80 * 1024**3)], Path("/nonexistent"))
    assert {r.area: r.status for r in small}["GPU memory (graph)"] == FAIL
    assert all(r.status == OK for r in big), big
    assert device_checks({"graphs": {"dtype": "bfloat16"}}, shape, [("V100", 16 * 1024**3)], bf16=False)[1].status == FAIL


def test_cached_model_and_slurm_partition(tmp_path):
    snap = tmp_path / "snap"
    snap.mkdir()
    (snap / "config.json").write_text("{}")
    (snap / "model.safetensors").write_bytes(b"x")
    cfg = {"run": {"models": ["m"]}, "models": {"m": {"source": "hf", "path": "org/m"}},
           "resources": {"gpu": {"slurm_partition": "a100"}, "slurm_account": ""}}
    assert model_file_checks(cfg, tmp_path, snapshot=lambda repo: snap)[0].status == OK
    assert model_file_checks(cfg, tmp_path, snapshot=lambda repo: None)[0].status == FAIL
    have_all = lambda name: f"/usr/bin/{name}"  # noqa: E731
    rows = slurm_checks(cfg, True, which=have_all, run=lambda cmd: "debug*\ngpu\n")
    assert {r.area: r.status for r in rows}["gpu profile partition"] == FAIL
    rows = slurm_checks(cfg, True, which=have_all, run=lambda cmd: "debug*\na100\n")
    assert all(r.status == OK for r in rows)
    assert slurm_checks(cfg, True, which=lambda name: None)[0].status == FAIL
    assert slurm_checks(cfg, False, which=lambda name: None)[0].status == WARN
