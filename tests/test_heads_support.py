"""Builders shared by the heads / patching / modeldiff tests (no tests here).

A tiny byte-level BPE tokenizer trained on toy arithmetic traces, tiny random Qwen2 models saved
as HF dirs (so the code under test loads them through ``r1interp.models.load_model``), and
generations / token-shard tables in the documented schemas.
"""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import torch

from r1interp.artifacts.segments import ANSWER, OTHER, PROMPT, THINK

SPECIALS = ["<|user|>", "<|assistant|>", "<think>", "</think>", "<|end|>"]


def toy_problems(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        a, b, c = rng.randint(2, 40), rng.randint(2, 9), rng.randint(2, 9)
        out.append(
            {
                "id": f"p{i:03d}",
                "question": f"What is {a}+{b}*{c}?",
                "think": f"{b}*{c}={b * c}. {a}+{b * c}={a + b * c}.",
                "answer": f"The answer is \\boxed{{{a + b * c}}}.",
            }
        )
    return out


def build_tokenizer(out_dir: Path):
    """Byte-level BPE (merges digits only sometimes, like the toy); special tokens take the last ids."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [f"{p['question']} {p['think']} {p['answer']}" for p in toy_problems(400, seed=1)]
    trainer = trainers.BpeTrainer(vocab_size=330, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|end|>", pad_token="<|end|>")
    fast.save_pretrained(out_dir)
    return fast


def build_model(out_dir: Path, tokenizer, n_layers: int = 3, seed: int = 0, init_range: float = 0.02) -> Path:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        initializer_range=init_range,
        tie_word_embeddings=False,
    )
    model = Qwen2ForCausalLM(cfg)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir


def encode_trace(tokenizer, problem: dict) -> dict:
    """One generations row (documented schema) for a problem, with hand-computed segments."""
    sid = tokenizer.convert_tokens_to_ids
    enc = lambda s: tokenizer.encode(s, add_special_tokens=False)  # noqa: E731
    q, th, ans = enc(problem["question"]), enc(problem["think"]), enc(problem["answer"])
    prompt_ids = [sid("<|user|>")] + q + [sid("<|assistant|>")]
    output_ids = [sid("<think>")] + th + [sid("</think>")] + ans + [sid("<|end|>")]
    segment = [OTHER] + [PROMPT] * len(q) + [OTHER] + [THINK] * (len(th) + 2) + [ANSWER] * len(ans) + [OTHER]
    think_start = len(prompt_ids)
    return {
        "prompt_id": problem["id"],
        "category": "arithmetic",
        "needs_reasoning": True,
        "expected": problem["answer"],
        "prompt_ids": prompt_ids,
        "output_ids": output_ids,
        "segment": segment,
        "think_start": think_start,
        "think_end": think_start + len(th) + 1,
        "answer_text": problem["answer"],
        "correct": True,
    }


def write_generations(path: Path, tokenizer, problems: list[dict]) -> Path:
    df = pd.DataFrame([encode_trace(tokenizer, p) for p in problems])
    df["segment"] = df["segment"].map(lambda s: [int(x) for x in s])
    df.to_parquet(path, index=False)
    return path


def write_shard(path: Path, tokenizer, problems: list[dict]) -> Path:
    rows = []
    for i, p in enumerate(problems):
        r = encode_trace(tokenizer, p)
        rows.append({"doc_id": i, "kind": "reasoning", "input_ids": r["prompt_ids"] + r["output_ids"], "segment": r["segment"]})
    pd.DataFrame(rows).to_parquet(path, index=False)
    return path
