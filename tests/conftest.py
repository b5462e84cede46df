"""Shared fixtures: a tiny toy corpus, tokenizer, Qwen2 model (random and briefly trained), shards.

Sizes are chosen so that the whole session's fixtures build in a few seconds on 2 CPU cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def toy_problems():
    from r1interp.core.toy_corpus import generate_corpus

    return generate_corpus(600, seed=0)


@pytest.fixture(scope="session")
def toy_tokenizer(toy_problems):
    from r1interp.toy.tokenizer import train_tokenizer

    texts = [f"{p.question}\n{p.think}\n{p.answer_text}" for p in toy_problems] + [INSTRUCTION]
    return train_tokenizer(texts, vocab_size=400, template="r1")


@pytest.fixture(scope="session")
def tiny_shards(tmp_path_factory, toy_problems, toy_tokenizer):
    """``{"train": path, "eval": path}`` token shards of the toy corpus (r1 template)."""
    from r1interp.artifacts.shards import write_shard
    from r1interp.core.render import Example
    from r1interp.data.shards import ShardConfig, build_shards

    out = tmp_path_factory.mktemp("shards")
    examples = [Example(p.id, p.kind, p.question, p.think, p.answer_text) for p in toy_problems]
    tables = build_shards(toy_tokenizer, examples, ShardConfig(instruction=INSTRUCTION, train_tokens=10**9, eval_tokens=10**9, eval_fraction=0.15))
    paths = {}
    for split, table in tables.items():
        paths[split] = out / f"{split}.parquet"
        write_shard(table, paths[split])
    return paths


TINY_MODEL = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, toy_tokenizer):
    """A random-init tiny Qwen2ForCausalLM HF dir (3 layers, hidden 32) with the toy tokenizer."""
    from r1interp.toy.model import ToyModelConfig, init_model, save_model

    path = tmp_path_factory.mktemp("tiny-model")
    save_model(init_model(toy_tokenizer, ToyModelConfig(**TINY_MODEL), seed=0), toy_tokenizer, path)
    return path


@pytest.fixture(scope="session")
def tiny_trained_model_dir(tmp_path_factory, toy_tokenizer, tiny_shards):
    """The tiny model after 80 training steps: enough for digit/operator structure, ~5 s."""
    from r1interp.artifacts.shards import read_docs
    from r1interp.toy.model import ToyModelConfig, ToyTrainConfig, init_model, save_model, train_model

    model = init_model(toy_tokenizer, ToyModelConfig(**TINY_MODEL), seed=0)
    train_model(model, read_docs(tiny_shards["train"]), ToyTrainConfig(steps=80, batch_size=16, lr=5e-3), toy_tokenizer.pad_token_id, progress=False)
    path = tmp_path_factory.mktemp("tiny-trained")
    save_model(model, toy_tokenizer, path)
    return path


def copy_workflow(dest: Path) -> Path:
    """A temp copy of the workflow files (not results/) for snakemake subprocess tests."""
    for name in ("Snakefile", "config.yaml", "rules", "schemas", "profiles", "envs", "report", "bin"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name)
        elif src.exists():
            shutil.copy(src, dest / name)
    return dest


def run_snakemake(workdir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=workdir, capture_output=True, text=True, timeout=timeout
    )


# The one limit on the smoke workflow run, which must finish in well under half of it on 2 cores:
# snakemake's subprocess gets SMOKE_TIMEOUT_S. pytest-timeout (pyproject: 600 s per test) counts the
# setup of the fixtures a test is the first to request, so every test that uses smoke_workflow gets
# SMOKE_TIMEOUT_S + SMOKE_TEST_MARGIN_S instead (its own work, e.g. executing the notebook, on top):
# the subprocess limit is the one that fires, with snakemake's output in the failure message.
SMOKE_TIMEOUT_S = 1800
SMOKE_TEST_MARGIN_S = 600


# numba compiles the null-model chains on first use (~2 min on 2 cores) into a cache in the source
# tree; a fresh checkout paid that inside the first test that drew a null. When the cache is cold,
# the session compiles it in the background from the start (`r1interp motifs warm`) and runs the
# test files that draw nulls in this process last, so the compile overlaps the tests before them.
CHAIN_TEST_FILES = ("test_bench_thinning.py", "test_compare.py", "test_compare_measure.py", "test_motifs_")
_warm: subprocess.Popen | None = None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "smoke_workflow" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(SMOKE_TIMEOUT_S + SMOKE_TEST_MARGIN_S))
    items.sort(key=lambda item: Path(str(item.fspath)).name.startswith(CHAIN_TEST_FILES))  # stable: order kept within each part


def pytest_collection_finish(session):
    global _warm
    from r1interp.motifs.warm import cache_is_warm

    needs_chain = any(Path(str(item.fspath)).name.startswith(CHAIN_TEST_FILES) for item in session.items)
    if needs_chain and len(session.items) > 50 and not cache_is_warm():
        # at the lowest priority: it takes the core a test leaves idle, not the time of the tests
        _warm = subprocess.Popen([sys.executable, "-m", "r1interp.motifs", "warm"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 preexec_fn=lambda: os.nice(19))


def pytest_sessionfinish(session, exitstatus):
    if _warm is not None and _warm.poll() is None:
        _warm.kill()


@pytest.fixture(scope="session")
def smoke_workflow(tmp_path_factory):
    """A temp workflow copy after the whole toy workflow ran at smoke sizes (tests/data/smoke-config.yaml),
    run once per session and shared by the tests that need finished results (``workflow`` marker).

    ``R1INTERP_SMOKE_DIR`` points at such a directory from an earlier run instead (a developer shortcut;
    its ``snakemake -n`` must be clean, which test_workflow_e2e checks).
    """
    given = os.environ.get("R1INTERP_SMOKE_DIR")
    if given:
        return Path(given)
    wd = copy_workflow(tmp_path_factory.mktemp("e2e"))
    shutil.copy(REPO / "tests/data/smoke-config.yaml", wd / "smoke.yaml")
    env_key = os.environ.pop("ANTHROPIC_API_KEY", None)  # the default run: no key, no request
    try:
        proc = run_snakemake(wd, "--cores", "2", "--configfile", "smoke.yaml", timeout=SMOKE_TIMEOUT_S)
    finally:
        if env_key is not None:
            os.environ["ANTHROPIC_API_KEY"] = env_key
    assert proc.returncode == 0, (proc.stdout[-4000:] + proc.stderr[-6000:])
    return wd
