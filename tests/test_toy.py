"""The embedded toy setup: corpus determinism, tokenizer special ids, the model learns."""

from __future__ import annotations

import torch

from r1interp.core.toy_corpus import generate_corpus
from r1interp.toy.tokenizer import SPECIAL_TOKENS, THINK_CLOSE, THINK_OPEN


def test_corpus_is_deterministic_and_covers_kinds():
    a, b = generate_corpus(120, seed=3), generate_corpus(120, seed=3)
    assert a == b
    assert generate_corpus(120, seed=4) != a
    assert {p.kind for p in a} == {"addition", "subtraction", "multiplication", "word_problem", "comparison", "chain"}


def test_corpus_traces_are_correct_arithmetic(toy_problems):
    for p in toy_problems:
        if p.kind == "addition":
            x, y = map(int, p.question[len("What is "):-1].split(" + "))
            assert int(p.answer) == x + y and p.think.endswith(f"= {x + y}.")


def test_special_tokens_take_last_ids_and_none_is_zero(toy_tokenizer):
    ids = toy_tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS)
    n = len(toy_tokenizer)
    assert sorted(ids) == list(range(n - len(SPECIAL_TOKENS), n))
    assert 0 not in toy_tokenizer.all_special_ids and 0 not in ids


def test_think_markers_round_trip(toy_tokenizer):
    text = f"{THINK_OPEN}\n12 + 7 = 19.\n{THINK_CLOSE}\n\nThe answer is \\boxed{{19}}."
    ids = toy_tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.count(toy_tokenizer.convert_tokens_to_ids(THINK_OPEN)) == 1
    assert ids.count(toy_tokenizer.convert_tokens_to_ids(THINK_CLOSE)) == 1
    assert toy_tokenizer.decode(ids) == text
    # digits are single tokens, as in Qwen's tokenizer
    assert all(len(toy_tokenizer.decode([i]).strip()) <= 1 for i in toy_tokenizer("1234567890", add_special_tokens=False)["input_ids"])


def test_chat_templates(toy_problems):
    """Reasoner: R1-Distill's shape (BOS, User, Assistant + <think>); base: Qwen's ChatML, its own special tokens."""
    from r1interp.toy.tokenizer import train_bpe, with_specials

    bpe = train_bpe([p.question for p in toy_problems[:100]], 300)
    r1, base = with_specials(bpe, "r1"), with_specials(bpe, "plain")
    msgs = [{"role": "user", "content": "What is 2 + 3?"}]
    assert r1.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True) == "<|bos|><|User|>What is 2 + 3?<|Assistant|><think>\n"
    assert (base.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            == "<|im_start|>user\nWhat is 2 + 3?<|im_end|>\n<|im_start|>assistant\n")
    # one regular vocabulary: the same text gets the same ids; the special tokens differ on the same ids
    assert r1("What is 2 + 3?")["input_ids"] == base("What is 2 + 3?")["input_ids"]
    assert r1.convert_tokens_to_ids("<|Assistant|>") == base.convert_tokens_to_ids("<|im_end|>")


def test_trained_toy_loss_well_below_random(tiny_model_dir, tiny_trained_model_dir, tiny_shards, toy_tokenizer):
    from transformers import AutoModelForCausalLM

    from r1interp.artifacts.shards import read_docs
    from r1interp.toy.model import mean_loss

    held_out = read_docs(tiny_shards["eval"])
    random_loss = mean_loss(AutoModelForCausalLM.from_pretrained(tiny_model_dir), held_out, 160, toy_tokenizer.pad_token_id)
    trained_loss = mean_loss(AutoModelForCausalLM.from_pretrained(tiny_trained_model_dir), held_out, 160, toy_tokenizer.pad_token_id)
    assert random_loss > 5.0  # ≈ ln(vocab) at init
    assert trained_loss < 0.5 * random_loss, (random_loss, trained_loss)


def test_model_dir_loads_offline_with_auto_classes(tiny_model_dir):
    from r1interp.models import load_model, model_shape

    model, tok = load_model(tiny_model_dir, device="cpu", dtype="float32")
    shape = model_shape(tiny_model_dir)
    assert (shape.n_layers, shape.d_model) == (3, 32)
    assert type(model).__name__ == "Qwen2ForCausalLM"
    with torch.no_grad():
        out = model(torch.tensor([[tok.bos_token_id, 5, 6]]))
    assert out.logits.shape == (1, 3, len(tok))
