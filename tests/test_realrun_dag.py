"""The real configuration plans the whole real DAG with no weights and no hub access.

The two models' config.json (28 layers, real widths) and tokenizers are local stand-ins
(r1interp.toy.realshape, config only); the hub is made unreachable for the planning process.
"""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from conftest import REPO, copy_workflow, run_snakemake

REAL = "config/r1-distill-qwen-1.5b.yaml"
TEXTS = ["What is 36 + 59? Let me think step by step. 36 + 59 = 95. The answer is \\boxed{95}."] * 20


def job_counts(stdout: str) -> dict[str, int]:
    table = stdout.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M) if m.group(1) != "total"}


@pytest.fixture(scope="module")
def standin_configs(tmp_path_factory):
    from r1interp.toy.realshape import build_pair

    return build_pair(tmp_path_factory.mktemp("standins"), TEXTS, config_only=True)


def offline_env(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: any hub request would fail
    monkeypatch.setenv("HF_HOME", "/nonexistent-hf-home")  # and no cache to fall back on


def real_workdir(tmp_path, standins, **override):
    wd = copy_workflow(tmp_path)
    shutil.copytree(REPO / "config", wd / "config")
    local = {"models": {name: {"path": str(path)} for name, path in standins.items()}}
    for key, value in override.items():
        local[key] = value
    (wd / "local.yaml").write_text(yaml.safe_dump(local))
    return wd


@pytest.mark.workflow
def test_real_config_plans_the_whole_real_dag_offline(tmp_path, standin_configs, monkeypatch):
    offline_env(monkeypatch)
    wd = real_workdir(tmp_path, standin_configs)
    proc = run_snakemake(wd, "--configfile", REAL, "local.yaml", "-n", "-p", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    counts = job_counts(proc.stdout)
    assert counts["train_transcoders"] == 8  # 28 layers in groups of 7, both models
    assert counts["transcoder_layer"] == 56 and counts["evaluate_layer"] == 56
    grid = yaml.safe_load((REPO / REAL).read_text())["sweep"]["grid"]
    assert counts["sweep_point"] == len(grid["expansion_factor"]) * len(grid["k"]) and counts["sweep_select"] == 1
    assert counts["graphs_build"] == 48  # the 24 benchmark prompts, both models
    assert counts["generations"] == 2
    assert counts["data_shards"] == 1 and counts.get("data_shards_mapped", 0) == 1  # one stream, read by the base via the token map
    assert counts["features_collect_r1_distill_qwen_1_5b"] == 1 and counts["features_collect_qwen2_5_math_1_5b"] == 1
    assert counts["costplan"] == 1
    assert "--layers 2,14,26" in proc.stdout  # the pilot layers of the sweep
    assert "--eval-max-len 2048" in proc.stdout  # the sweep reads documents as evaluate does
    groups = sorted(set(re.findall(r"--layers (\d+(?:,\d+)*) --selected", proc.stdout)))
    assert groups == ["0,1,2,3,4,5,6", "14,15,16,17,18,19,20", "21,22,23,24,25,26,27", "7,8,9,10,11,12,13"]
    assert "--max-new-tokens 3072" in proc.stdout  # traces long enough to close </think>
    assert "/nonexistent" not in out and "127.0.0.1:9" not in out  # nothing tried the hub or a cache


@pytest.mark.workflow
def test_real_config_without_local_model_configs_names_the_model(tmp_path, monkeypatch):
    """No config.json anywhere (hub unreachable, no cache): the plan stops naming the model, not the hub."""
    offline_env(monkeypatch)
    wd = copy_workflow(tmp_path)
    shutil.copytree(REPO / "config", wd / "config")
    proc = run_snakemake(wd, "--configfile", REAL, "-n", timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "r1-distill-qwen-1.5b" in out and "HF cache" in out, out[-3000:]


@pytest.mark.workflow
def test_standins_carry_the_real_tokens_templates_and_widths(standin_configs):
    from transformers import AutoConfig, AutoTokenizer

    r1, base = standin_configs["r1-distill-qwen-1.5b"], standin_configs["qwen2.5-math-1.5b"]
    r1_tok, base_tok = AutoTokenizer.from_pretrained(r1), AutoTokenizer.from_pretrained(base)
    assert len(r1_tok) == len(base_tok) == 151665
    assert r1_tok.convert_tokens_to_ids(["<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>",
                                         "<think>", "</think>", "<|file_sep|>"]) == [151643, 151644, 151645, 151646, 151648, 151649, 151664]
    assert base_tok.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|file_sep|>"]) == [151643, 151644, 151645, 151664]
    msgs = [{"role": "user", "content": "What is 36 + 59?"}]
    assert r1_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == (
        "<｜begin▁of▁sentence｜><｜User｜>What is 36 + 59?<｜Assistant｜><think>\n")
    assert base_tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True).endswith(
        "<|im_start|>user\nWhat is 36 + 59?<|im_end|>\n<|im_start|>assistant\n")
    assert r1_tok.bos_token_id == 151646 and base_tok.bos_token is None and base_tok.eos_token_id == 151643
    c1, c2 = AutoConfig.from_pretrained(r1), AutoConfig.from_pretrained(base)
    for c in (c1, c2):
        assert (c.hidden_size, c.intermediate_size, c.num_attention_heads, c.num_key_value_heads, c.vocab_size,
                c.num_hidden_layers, c.rope_theta) == (1536, 8960, 12, 2, 151936, 28, 10000.0)
    assert c1.tie_word_embeddings is False and c2.tie_word_embeddings is True
    # one regular vocabulary: the same text gets the same ids
    assert r1_tok("36 + 59 = 95")["input_ids"] == base_tok("36 + 59 = 95")["input_ids"]
    from r1interp.core.groups import layer_source, trained_alone

    assert trained_alone(["3"], ["L5", "x", "Lz"]) == {3, 5}
    assert layer_source(5, 28, 7, {3, 5}) == ("alone", 5) and layer_source(6, 28, 7, {3, 5}) == ("group", 0)


@pytest.mark.workflow
def test_job_threads_follow_each_rules_own_cpus_per_gpu(tmp_path, standin_configs, monkeypatch):
    """Threads came from the GPU class's cpus_per_gpu even where a rule asked sbatch for other CPUs,
    and generations ran one thread on an 8-CPU allocation."""
    offline_env(monkeypatch)
    wd = real_workdir(tmp_path, standin_configs)
    (wd / "cpus.yaml").write_text(yaml.safe_dump({"resources": {"rules": {"graphs_build": {"cpus_per_gpu": 4}}}}))
    proc = run_snakemake(wd, "--configfile", REAL, "local.yaml", "cpus.yaml", "-n", "--cores", "64", "--until", "graphs_build", timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    threads = {}
    for block in proc.stdout.split("\n\n"):
        rule = re.search(r"^rule (\w+):", block, flags=re.M)
        if rule and rule.group(1) in ("graphs_build", "generations"):
            threads.setdefault(rule.group(1), set()).add(int(m.group(1)) if (m := re.search(r"threads: (\d+)", block)) else 1)
    cpus = int(yaml.safe_load((REPO / REAL).read_text())["resources"]["gpu"]["cpus_per_gpu"])
    assert threads["graphs_build"] == {4} and threads["generations"] == {cpus}
