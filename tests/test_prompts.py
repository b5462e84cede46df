"""Prompt sets and the answer checker."""

from __future__ import annotations

from collections import Counter

import pytest

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
])
def test_check_answer(generated, expected, check, ok):
    assert check_answer(generated, expected, check) is ok


def test_extract_answer_prefers_last_boxed():
    assert extract_answer("\\boxed{1} and later \\boxed{{2}}") == "{2}"
    assert extract_answer("7 then 8", "numeric") == "8"


def test_generations_on_tiny_model(tiny_trained_model_dir):
    from r1interp.data.segments import ANSWER, THINK
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
        assert row.correct == check_answer(row.answer_text, row.expected, "numeric")
