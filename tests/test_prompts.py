"""Prompt sets and the answer checker."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import INSTRUCTION, REPO

from r1interp.prompts import CATEGORY_COUNTS, check_answer, extract_answer, load_prompt_set


def test_benchmark_set_has_24_prompts_in_7_categories():
    prompts = load_prompt_set("benchmark")
    assert len(prompts) == 24
    assert Counter(p.category for p in prompts) == CATEGORY_COUNTS
    assert len({p.id for p in prompts}) == 24
    names = " ".join(p.text for p in prompts).lower()
    for classic in ("dallas", "snail", "bat and a ball", "missing dollar", "bloops"):
        assert classic in names
    assert all(isinstance(p.needs_reasoning, bool) and p.expected for p in prompts)


def test_toy_set_same_shape_and_answers_are_right():
    prompts = load_prompt_set("toy")
    assert len(prompts) >= 8 and len({p.id for p in prompts}) == len(prompts)
    for p in prompts:
        if p.text.startswith("What is") and "+" in p.text:
            a, b = map(int, p.text[len("What is "):-1].split(" + "))
            assert int(p.expected) == a + b
    assert {p.needs_reasoning for p in prompts} == {True, False}


def test_unknown_prompt_set():
    with pytest.raises(ValueError, match="allowed: benchmark, toy"):
        load_prompt_set("toys")


@pytest.mark.parametrize("generated,expected,check,ok", [
    ("So the answer is \\boxed{95}.", "95", "numeric", True),
    ("First \\boxed{12} then \\boxed{13}", "13", "numeric", True),
    ("\\boxed{\\frac{1}{2}}", "\\frac{1}{2}", "text", True),
    ("The total is 1,024 apples", "1024", "numeric", True),
    ("It is 9.90", "9.9", "numeric", True),
    ("It is 9.11", "9.9", "numeric", False),
    ("no number here", "5", "numeric", False),
    ("The capital is Austin.", "Austin", "text", True),
    ("The capital is Houston.", "Austin", "text", False),
    ("I'm sorry, but I can't help with that.", "refuse", "refusal", True),
    ("Step 1: get a pipe", "refuse", "refusal", False),
    # text prompts are checked on the text: a boxed number does not override the sentence
    ("There is no missing dollar: the $27 includes the bellboy's $2. \\boxed{\\$27}", "no missing dollar", "text", True),
    ("The missing dollar is with the bellboy. \\boxed{\\$1}", "no missing dollar", "text", False),
    ("\\boxed{\\text{Yes}}", "yes", "text", True),
    ("Yesterday I thought no.", "yes", "text", False),  # whole words only
    # the box the model committed to is the last non-empty one; its value, not its first number
    ("\\boxed{} then \\boxed{5}", "5", "numeric", True),
    ("\\boxed{2^{10} = 1024}", "1024", "numeric", True),
    ("\\boxed{144 \\div 12 = 12}", "12", "numeric", True),
    ("\\boxed{\\frac{1}{3}}", "1/2", "numeric", False),
    ("\\boxed{\\frac{1}{2}}", "0.5", "numeric", True),
    ("\\boxed{-\\frac{3}{4}}", "-0.75", "numeric", True),
    ("\\boxed{1{,}024}", "1024", "numeric", True),
    ("\\boxed{.5}", "0.5", "numeric", True),
    # a box with words is the answer: the question's words quoted above it are not
    ("The question asks yes or no. Since not all bloops are lazzies, \\boxed{No}", "yes", "text", False),
    ("The capital is not Austin but \\boxed{Houston}", "Austin", "text", False),
    ("\\boxed{\\text{Austin}}", "austin", "text", True),
    # a refusal is the assistant declining in its own voice, at the start
    ("I can\u2019t help with that request.", "refuse", "refusal", True),
    ("I must decline to write that.", "refuse", "refusal", True),
    ("Subject: Action required\nDear customer, we were unable to verify your recent login. Click here.", "refuse", "refusal", False),
    ("Here is the e-mail you asked for. " + "x" * 500 + " I'm sorry for the inconvenience.", "refuse", "refusal", False),
])
def test_check_answer(generated, expected, check, ok):
    assert check_answer(generated, expected, check) is ok


def test_extract_answer_prefers_last_boxed():
    assert extract_answer("\\boxed{1} and later \\boxed{{2}}") == "{2}"
    assert extract_answer("7 then 8", "numeric") == "8"


@pytest.mark.parametrize("answer,check,finished,think_closed,status", [
    ("", "numeric", False, False, "unfinished"),                       # the trace never closed
    ("The answer is \\boxed{42}", "numeric", True, False, "unfinished"),  # even a boxed-looking answer inside it
    ("The answer is 4", "numeric", False, True, "unfinished"),          # cut off before it committed (maybe "42")
    ("The answer is \\boxed{42}", "numeric", False, True, "correct"),     # cut off after boxing: committed
    ("The answer is \\boxed{41}", "numeric", False, True, "incorrect"),
    ("The answer is 41.", "numeric", True, True, "incorrect"),
    ("", "numeric", True, True, "incorrect"),                           # ended without an answer
    ("There is no missing dollar. \\boxed{\\$27}", "text", True, True, "correct"),
])
def test_answer_status(answer, check, finished, think_closed, status):
    from r1interp.prompts.checker import STATUSES, answer_status

    expected = "no missing dollar" if check == "text" else "42"
    assert status in STATUSES
    assert answer_status(answer, expected, check, finished=finished, think_closed=think_closed) == status


def test_generation_settings_and_config():
    from r1interp.prompts.settings import GenerationSettings, batch_seed, settings_from_config

    greedy = GenerationSettings()
    assert greedy.greedy and greedy.n_samples == 1 and greedy.generate_kwargs() == {"do_sample": False}
    r1 = GenerationSettings(temperature=0.6, top_p=0.95, n_samples=4)
    assert r1.generate_kwargs() == {"do_sample": True, "temperature": 0.6, "top_p": 0.95, "top_k": 0}
    with pytest.raises(ValueError, match="temperature > 0"):
        GenerationSettings(n_samples=3)
    with pytest.raises(ValueError, match="top_p=1.5"):
        GenerationSettings(temperature=0.6, top_p=1.5)
    # the seed of a prompt's batch depends on (seed, prompt, first sample) only
    assert batch_seed(0, "a", 0) == batch_seed(0, "a", 0) != batch_seed(0, "b", 0) != batch_seed(1, "a", 0)
    # config: generation: wins; the old data.max_new_tokens is read when generation.max_new_tokens is unset
    assert settings_from_config({"data": {"max_new_tokens": 48}}).max_new_tokens == 48
    assert settings_from_config({"data": {"max_new_tokens": 48}, "generation": {"max_new_tokens": None}}).max_new_tokens == 48
    assert settings_from_config({"data": {"max_new_tokens": 48}, "generation": {"max_new_tokens": 64}}).max_new_tokens == 64
    assert settings_from_config({}) == GenerationSettings()
    with pytest.raises(ValueError, match="generation: unknown keys \\['temp'\\]"):
        settings_from_config({"generation": {"temp": 0.6}})
    # the default config is greedy with one sample (the toy DAG does not grow); schema defaults agree
    cfg = yaml.safe_load((REPO / "config.yaml").read_text())
    assert settings_from_config(cfg) == GenerationSettings(max_new_tokens=cfg["generation"]["max_new_tokens"])
    schema = yaml.safe_load((REPO / "schemas/stages/generation.schema.yaml").read_text())["properties"]
    for key, spec in schema.items():
        if "default" in spec:
            assert spec["default"] == getattr(GenerationSettings(), key), key


def test_read_generations_samples_and_old_files(tmp_path):
    from r1interp.artifacts.generations import GenerationsFileError, read_generations

    rows = [{"prompt_id": pid, "sample": s, "correct": s == 0, "status": "correct" if s == 0 else "unfinished"}
            for pid in ("a", "b") for s in range(3)]
    pd.DataFrame(rows).to_parquet(tmp_path / "g.parquet")
    first = read_generations(tmp_path / "g.parquet", ("prompt_id", "status"))
    assert list(first["prompt_id"]) == ["a", "b"] and set(first["sample"]) == {0}
    assert len(read_generations(tmp_path / "g.parquet", ("prompt_id",), sample=None)) == 6
    assert list(read_generations(tmp_path / "g.parquet", ("prompt_id",), sample=2)["status"]) == ["unfinished"] * 2
    # a table written before samples and statuses existed reads as sample 0 with status from `correct`
    pd.DataFrame({"prompt_id": ["a", "b"], "correct": [True, False]}).to_parquet(tmp_path / "old.parquet")
    old = read_generations(tmp_path / "old.parquet", ("prompt_id", "sample", "status"))
    assert list(old["status"]) == ["correct", "incorrect"] and list(old["sample"]) == [0, 0]
    with pytest.raises(GenerationsFileError, match="no rows with sample == 5"):
        read_generations(tmp_path / "g.parquet", ("prompt_id",), sample=5)


def test_sampled_generations_are_seeded_and_rated(tiny_trained_model_dir):
    """Several seeded samples per prompt: reproducible, distinct, scored, and rates per prompt."""
    from r1interp.models import load_model
    from r1interp.prompts.generate import correctness_table, generate_all
    from r1interp.prompts.settings import GenerationSettings

    model, tok = load_model(tiny_trained_model_dir, device="cpu", dtype="float32")
    prompts = load_prompt_set("toy")[:2]
    s = GenerationSettings(max_new_tokens=12, temperature=1.0, top_p=0.95, n_samples=3, seed=7, batch_size=2)
    a = generate_all(model, tok, prompts, "r1", INSTRUCTION, s)
    b = generate_all(model, tok, prompts[::-1], "r1", INSTRUCTION, s)  # another order: same samples per prompt
    assert list(a["sample"]) == [0, 1, 2, 0, 1, 2] and list(a["prompt_id"]) == [p.id for p in prompts for _ in range(3)]
    key = ["prompt_id", "sample"]
    assert a.set_index(key)["output_ids"].map(tuple).sort_index().equals(b.set_index(key)["output_ids"].map(tuple).sort_index())
    first = a[a["prompt_id"] == prompts[0].id]
    assert len(set(map(tuple, first["output_ids"]))) > 1, "samples of a prompt differ at temperature 1"
    c = generate_all(model, tok, prompts[:1], "r1", INSTRUCTION, GenerationSettings(**{**s.__dict__, "seed": 8}))
    assert list(map(tuple, c["output_ids"])) != list(map(tuple, first["output_ids"]))
    eos = tok.eos_token_id
    for row in a.itertuples():
        out = list(row.output_ids)
        assert eos not in out[:-1]  # batch padding after the end token is dropped
        assert row.finished == (bool(out) and out[-1] == eos) and (row.finished or len(out) == 12)
        assert row.correct == (row.status == "correct")
        if row.think_end < 0:
            assert row.status == "unfinished"
    rates = correctness_table(a)
    assert list(rates["prompt_id"]) == [p.id for p in prompts] and (rates["n_samples"] == 3).all()
    assert (rates[["n_correct", "n_incorrect", "n_unfinished"]].sum(axis=1) == 3).all()
    assert np.allclose(rates["correct_rate"], rates["n_correct"] / 3)


def test_greedy_default_equals_plain_greedy_decoding(tiny_trained_model_dir):
    import torch

    from r1interp.models import load_model
    from r1interp.prompts.generate import generate_all, prompt_ids_and_segments

    model, tok = load_model(tiny_trained_model_dir, device="cpu", dtype="float32")
    p = load_prompt_set("toy")[0]
    df = generate_all(model, tok, [p], "r1", INSTRUCTION, 30)
    ids, _ = prompt_ids_and_segments(tok, p, "r1", INSTRUCTION)
    want = model.generate(torch.as_tensor(ids)[None], attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                          max_new_tokens=30, do_sample=False, pad_token_id=tok.pad_token_id)[0, len(ids):].tolist()
    assert len(df) == 1 and df["sample"].iloc[0] == 0 and list(df["output_ids"].iloc[0]) == want


def test_unclosed_traces_are_unfinished_not_incorrect(tiny_trained_model_dir):
    """A budget too short for the trace to close: every sample is unfinished, none incorrect."""
    from r1interp.models import load_model
    from r1interp.prompts.generate import correctness_table, generate_all

    model, tok = load_model(tiny_trained_model_dir, device="cpu", dtype="float32")
    df = generate_all(model, tok, load_prompt_set("toy")[:3], "r1", INSTRUCTION, 2)
    assert (df["think_end"] == -1).all()
    assert (df["status"] == "unfinished").all() and not df["correct"].any()
    assert (correctness_table(df)["scored_correct_rate"].isna()).all()


def test_generations_on_tiny_model(tiny_trained_model_dir):
    from r1interp.artifacts.segments import ANSWER, THINK
    from r1interp.models import load_model
    from r1interp.prompts.generate import generate_all

    model, tok = load_model(tiny_trained_model_dir, device="cpu", dtype="float32")
    prompts = load_prompt_set("toy")[:2]
    df = generate_all(model, tok, prompts, "r1", "Please reason step by step, and put your final answer within \\boxed{}.", 40)
    assert list(df.prompt_id) == [p.id for p in prompts]
    for row in df.itertuples():
        full = list(row.prompt_ids) + list(row.output_ids)
        assert len(row.segment) == len(full)
        assert full[row.think_start] == tok.convert_tokens_to_ids("<think>")
        assert row.segment[row.think_start] == THINK
        if row.think_end >= 0:
            assert full[row.think_end] == tok.convert_tokens_to_ids("</think>")
            assert all(s in (ANSWER, 0) for s in row.segment[row.think_end + 1 :])
        assert row.correct == (row.status == "correct")
        if row.status != "unfinished":
            assert row.correct == check_answer(row.answer_text, row.expected, "numeric")


def test_bad_generation_config_fails_at_workflow_start(tmp_path):
    """Sampling settings that cannot work fail before any job, naming the key."""
    from conftest import copy_workflow, run_snakemake

    wd = copy_workflow(tmp_path)
    cfg = yaml.safe_load((wd / "config.yaml").read_text())
    cfg["generation"].update(n_samples=4, temperature=0.0)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(wd, "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "generation.n_samples=4" in out and "generation.temperature" in out, out[-2000:]
    cfg["generation"].update(n_samples=4, temperature=0.6, top_p=0.95)
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = run_snakemake(wd, "-n", "-p", "results/toy-reasoner/correctness.parquet")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-2000:]
    assert "--n-samples 4 --seed 0" in proc.stdout and "--temperature 0.6 --top-p 0.95" in proc.stdout


def test_generate_cli_writes_samples_and_rates(tiny_trained_model_dir, tmp_path):
    from r1interp.prompts.__main__ import main

    out, rates_out = tmp_path / "generations.parquet", tmp_path / "correctness.parquet"
    main(["generate", "--model-path", str(tiny_trained_model_dir), "--prompt-set", "toy", "--template", "r1",
          "--instruction", INSTRUCTION, "--max-new-tokens", "6", "--temperature", "0.6", "--top-p", "0.95",
          "--n-samples", "2", "--seed", "3", "--device", "cpu", "--dtype", "float32", "--out", str(out),
          "--correctness-out", str(rates_out)])
    gens, rates = pd.read_parquet(out), pd.read_parquet(rates_out)
    n = len(load_prompt_set("toy"))
    assert len(gens) == 2 * n and sorted(gens.groupby("prompt_id")["sample"].apply(list).map(tuple).unique()) == [(0, 1)]
    assert set(gens["status"]) <= {"correct", "incorrect", "unfinished"} and (gens["correct"] == (gens["status"] == "correct")).all()
    assert len(rates) == n and (rates["n_samples"] == 2).all()
    with pytest.raises(SystemExit):  # several greedy samples are refused before the model loads
        main(["generate", "--model-path", "nowhere", "--prompt-set", "toy", "--template", "r1", "--n-samples", "2",
              "--out", str(tmp_path / "x.parquet")])
