"""Data stage: chat-template rendering, per-token segments, deterministic shards, HF source parsing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import INSTRUCTION
from r1interp.artifacts.segments import ANSWER, OTHER, PROMPT, THINK
from r1interp.core.render import Example, render_example, tokenize_with_segments
from r1interp.data.shards import ShardConfig, build_shards, split_key, split_of


def _labelled(tok, ids, segs):
    return [(tok.decode([i]), int(s)) for i, s in zip(ids, segs)]


def test_segments_on_hand_checked_example(toy_tokenizer):
    ex = Example("x", "addition", "What is 2 + 3?", "2 + 3 = 5.", "The answer is \\boxed{5}.")
    text, chars = render_example(toy_tokenizer, ex, "r1", INSTRUCTION)
    assert text == (
        "<|bos|><|User|>" + INSTRUCTION + "\nWhat is 2 + 3?<|Assistant|><think>\n2 + 3 = 5.\n</think>\n\n"
        "The answer is \\boxed{5}.<|eos|>"
    )
    ids, segs = tokenize_with_segments(toy_tokenizer, text, chars)
    pairs = _labelled(toy_tokenizer, ids, segs)
    assert pairs[0] == ("<|bos|>", OTHER) and pairs[1] == ("<|User|>", OTHER)
    assert pairs[-1] == ("<|eos|>", OTHER)
    by_token = {t: s for t, s in pairs if t in ("<|Assistant|>", "<think>", "</think>")}
    assert by_token == {"<|Assistant|>": OTHER, "<think>": THINK, "</think>": THINK}
    # every token between <|User|> and <|Assistant|> is prompt, between the think markers is think
    toks = [t for t, _ in pairs]
    a, b = toks.index("<|User|>"), toks.index("<|Assistant|>")
    assert all(s == PROMPT for _, s in pairs[a + 1 : b])
    c, d = toks.index("<think>"), toks.index("</think>")
    assert all(s == THINK for _, s in pairs[c : d + 1])
    assert all(s == ANSWER for _, s in pairs[d + 1 : -1])
    assert "".join(t for t, s in pairs if s == ANSWER).strip() == "The answer is \\boxed{5}."


def test_plain_template_has_no_think_segment(toy_problems):
    from r1interp.toy.tokenizer import train_bpe, with_specials

    base = with_specials(train_bpe([p.question + p.answer_text for p in toy_problems[:100]], 300), "plain")
    ex = Example("x", "addition", "What is 2 + 3?", None, "The answer is \\boxed{5}.")
    text, chars = render_example(base, ex, "plain", None)
    ids, segs = tokenize_with_segments(base, text, chars)
    assert THINK not in set(segs.tolist())
    assert text.endswith("<|im_start|>assistant\nThe answer is \\boxed{5}.<|endoftext|>")
    assert {PROMPT, ANSWER} <= set(segs.tolist())


def test_split_is_deterministic_and_proportional():
    ids = [f"doc-{i}" for i in range(4000)]
    first = [split_of(i, 0.1, 0) for i in ids]
    assert first == [split_of(i, 0.1, 0) for i in reversed(ids)][::-1]
    frac = first.count("eval") / len(first)
    assert 0.08 < frac < 0.12
    assert first != [split_of(i, 0.1, 1) for i in ids]


def test_shards_respect_budgets_and_are_reproducible(toy_tokenizer, toy_problems):
    exs = [Example(p.id, p.kind, p.question, p.think, p.answer_text) for p in toy_problems]
    cfg = ShardConfig(instruction=INSTRUCTION, train_tokens=5000, eval_tokens=1000, max_seq_len=64)
    a, b = build_shards(toy_tokenizer, exs, cfg), build_shards(toy_tokenizer, exs, cfg)
    for split in ("train", "eval"):
        assert a[split].equals(b[split])
        lens = [len(x) for x in a[split].column("input_ids").to_pylist()]
        assert max(lens) <= 64
        assert sum(lens) - lens[-1] < {"train": 5000, "eval": 1000}[split]
    assert not set(a["train"].column("doc_id").to_pylist()) & set(a["eval"].column("doc_id").to_pylist())


def test_a_problem_asked_twice_never_sits_in_both_splits(toy_tokenizer, toy_problems):
    """The toy's problem space repeats problems under different ids (as real corpora do): the split
    follows the problem, so no eval document is a training document."""
    exs = [Example(p.id, p.kind, p.question, p.think, p.answer_text) for p in toy_problems]
    questions = [e.question for e in exs]
    assert len(set(questions)) < len(questions)  # the corpus does repeat problems: the case under test
    tables = build_shards(toy_tokenizer, exs, ShardConfig(instruction=INSTRUCTION, train_tokens=10**9, eval_tokens=10**9, eval_fraction=0.3))
    docs = {s: {tuple(x) for x in tables[s].column("input_ids").to_pylist()} for s in ("train", "eval")}
    assert docs["eval"] and not docs["train"] & docs["eval"]
    by_doc = {s: {exs[i].question for i in tables[s].column("doc_id").to_pylist()} for s in ("train", "eval")}
    assert not by_doc["train"] & by_doc["eval"]
    twin = Example("other-id", exs[0].kind, "  " + exs[0].question.replace(" ", "  ") + "\n", exs[0].think, exs[0].answer)
    assert split_of(split_key(twin), 0.3, 0) == split_of(split_key(exs[0]), 0.3, 0)  # whitespace does not matter


def test_openr1_fixture_through_datasets(tmp_path, toy_tokenizer):
    """The real-data path: OpenR1-Math-220k columns read through `datasets` from a local file."""
    from r1interp.core.sources import hf_examples

    rows = [
        {"uuid": "u1", "problem": "What is 6 * 7?", "solution": "42", "answer": "42",
         "generations": ["<think>\nwrong 6*7=41\n</think>\n\\boxed{41}", "<think>\n6 * 7 = 42.\n</think>\n\nThe answer is \\boxed{42}."],
         "correctness_math_verify": [False, True]},
        {"uuid": "u2", "problem": "What is 1 + 1?", "solution": "2", "answer": "2",
         "generations": ["<think>\n1 + 1 = 2\n</think>\n\\boxed{2}"], "correctness_math_verify": [True]},
    ]
    path = tmp_path / "openr1.parquet"
    pd.DataFrame(rows).to_parquet(path)
    spec = {"name": "open-r1/OpenR1-Math-220k", "kind": "reasoning"}
    exs = sorted(hf_examples(spec, [str(path)]), key=lambda e: e.id)  # read in a seeded shuffled order
    assert [e.id for e in exs] == ["OpenR1-Math-220k-u1", "OpenR1-Math-220k-u2"]
    assert exs[0].think == "6 * 7 = 42." and exs[0].answer == "The answer is \\boxed{42}."
    text, chars = render_example(toy_tokenizer, exs[0], "r1", INSTRUCTION)
    ids, segs = tokenize_with_segments(toy_tokenizer, text, chars)
    assert {OTHER, PROMPT, THINK, ANSWER} == set(segs.tolist())


def test_openr1_rows_without_a_verified_finished_trace_are_skipped(tmp_path):
    """The first generation was taken when none was verified, and an unclosed one became an
    'answer' holding a literal <think>: wrong or unfinished traces in the training stream."""
    from r1interp.core.sources import hf_examples

    rows = [
        {"uuid": "none-verified", "problem": "p1", "solution": "1", "generations": ["<think>\nx\n</think>\n\\boxed{2}"],
         "correctness_math_verify": [False], "correctness_llama": [False], "is_reasoning_complete": [True]},
        {"uuid": "llama-only", "problem": "p2", "solution": "3", "generations": ["<think>\nx\n</think>\n\\boxed{4}", "<think>\n1+2=3\n</think>\n\\boxed{3}"],
         "correctness_math_verify": [False, False], "correctness_llama": [False, True], "is_reasoning_complete": [True, True]},
        {"uuid": "unfinished", "problem": "p3", "solution": "5", "generations": ["<think>\nstill going, wait"],
         "correctness_math_verify": [True], "correctness_llama": [True], "is_reasoning_complete": [False]},
    ]
    path = tmp_path / "openr1.parquet"
    pd.DataFrame(rows).to_parquet(path)
    exs = list(hf_examples({"name": "open-r1/OpenR1-Math-220k", "kind": "reasoning"}, [str(path)]))
    assert [(e.id, e.think, e.answer) for e in exs] == [("OpenR1-Math-220k-llama-only", "1+2=3", "\\boxed{3}")]


def test_a_cached_hub_dataset_loads_offline_from_its_files(tmp_path, monkeypatch):
    """`huggingface-cli download` puts a dataset in the hub cache, which `load_dataset(name)` never
    reads: offline it raised ConnectionError. Its files are found through the card's configs."""
    from r1interp.core.sources import hf_examples

    snap = tmp_path / "hub" / "datasets--org--web" / "snapshots" / "abc123"
    (snap / "sample" / "10BT").mkdir(parents=True)
    (snap / "other").mkdir()
    (snap / "README.md").write_text("---\nconfigs:\n- config_name: sample-10BT\n  data_files:\n  - split: train\n"
                                    "    path: sample/10BT/*\n- config_name: other\n  data_files: other/*\n---\n# web\n")
    pd.DataFrame({"text": [f"page {i}" for i in range(30)]}).to_parquet(snap / "sample" / "10BT" / "000.parquet")
    pd.DataFrame({"text": ["not this config"]}).to_parquet(snap / "other" / "x.parquet")
    (tmp_path / "hub" / "datasets--org--web" / "refs").mkdir()
    (tmp_path / "hub" / "datasets--org--web" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    import huggingface_hub.constants as C

    monkeypatch.setattr(C, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(C, "HF_HUB_OFFLINE", True)
    spec = {"name": "org/web", "config": "sample-10BT", "split": "train", "kind": "general", "text_column": "text"}
    texts = sorted(e.answer for e in hf_examples(spec, []))
    assert texts == sorted(f"page {i}" for i in range(30))


def test_data_cli_writes_both_splits(tmp_path, toy_tokenizer, toy_problems):
    from r1interp.core.toy_corpus import write_corpus
    from r1interp.data.__main__ import main

    write_corpus(toy_problems[:200], tmp_path / "corpus.jsonl")
    toy_tokenizer.save_pretrained(tmp_path / "tok")
    main(["shards", "--tokenizer", str(tmp_path / "tok"), "--source", "toy", "--corpus", str(tmp_path / "corpus.jsonl"),
          "--shard-config", json.dumps({"instruction": INSTRUCTION, "eval_fraction": 0.2}),
          "--out-train", str(tmp_path / "train.parquet"), "--out-eval", str(tmp_path / "eval.parquet")])
    train, ev = pd.read_parquet(tmp_path / "train.parquet"), pd.read_parquet(tmp_path / "eval.parquet")
    assert len(train) + len(ev) == 200 and len(ev) > 10
    row = train.iloc[0]
    assert len(row.input_ids) == len(row.segment)
    assert np.asarray(row.input_ids).dtype == np.int32


def test_missing_corpus_is_a_clear_error(tmp_path, toy_tokenizer):
    from r1interp.data.__main__ import main

    with pytest.raises(SystemExit, match="toy corpus file not found: .*nope.jsonl"):
        main(["shards", "--tokenizer", "x", "--source", "toy", "--corpus", str(tmp_path / "nope.jsonl"),
              "--shard-config", "{}", "--out-train", "a", "--out-eval", "b"])


def test_mix_examples_follows_weights_and_drains():
    from r1interp.core.sources import mix_examples

    def stream(tag, n):
        return iter([Example(f"{tag}{i}", tag, "q", None, "a") for i in range(n)])

    mixed = list(mix_examples([stream("a", 2000), stream("b", 2000)], [0.8, 0.2], seed=1))
    first = [e.kind for e in mixed[:1000]]
    assert 0.75 < first.count("a") / 1000 < 0.85
    assert len(mixed) == 4000  # a drained stream leaves the mix; nothing is lost
    assert [e.id for e in mixed] == [e.id for e in mix_examples([stream("a", 2000), stream("b", 2000)], [0.8, 0.2], seed=1)]


def test_the_mix_shares_text_not_examples():
    """A trace is several times a web page: an 80/20 draw per example gave ~95/5 of the tokens."""
    from r1interp.core.sources import mix_examples, text_size

    traces = iter([Example(f"r{i}", "reasoning", "q" * 100, "t" * 4400, "a" * 50) for i in range(5000)])
    pages = iter([Example(f"g{i}", "general", "", None, "w" * (500 + 10 * (i % 100))) for i in range(5000)])
    size = {"reasoning": 0, "general": 0}
    for n, ex in enumerate(mix_examples([traces, pages], [0.8, 0.2], seed=0)):
        size[ex.kind] += text_size(ex)
        if n in (200, 1000, 3000):  # at every prefix of the budget, not only on average
            assert abs(size["reasoning"] / sum(size.values()) - 0.8) < 0.01, (n, size)
