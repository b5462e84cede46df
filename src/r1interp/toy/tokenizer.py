"""Byte-level BPE tokenizer for the toy models, with R1-style chat templates.

Why these choices: digits are split one per token (as Qwen's tokenizer does), so arithmetic
features are digit features; special tokens get the *last* ids and id 0 is an ordinary byte,
because circuit-tracer treats id 0 as a BOS candidate and drops it from graphs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
USER, ASSISTANT = "<|User|>", "<|Assistant|>"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
SPECIAL_TOKENS = [BOS, EOS, PAD, USER, ASSISTANT, THINK_OPEN, THINK_CLOSE]

# R1-distill style: the generation prompt opens the assistant turn with "<think>\n".
R1_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}"
    "{% if m['role'] == 'system' %}{{ m['content'] }}"
    "{% elif m['role'] == 'user' %}" + USER + "{{ m['content'] }}"
    "{% elif m['role'] == 'assistant' %}" + ASSISTANT + "{{ m['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}" + ASSISTANT + THINK_OPEN + "\n{% endif %}"
)
# The base model's turn answers directly, with no reasoning trace.
PLAIN_TEMPLATE = R1_TEMPLATE.replace(ASSISTANT + THINK_OPEN + "\n{% endif %}", ASSISTANT + "{% endif %}")
TEMPLATES = {"r1": R1_TEMPLATE, "plain": PLAIN_TEMPLATE}


def train_tokenizer(texts: Iterable[str], vocab_size: int, template: str = "r1"):
    """Train a byte-level BPE on ``texts``; returns a ``PreTrainedTokenizerFast``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if template not in TEMPLATES:
        raise ValueError(f"unknown chat template {template!r}; allowed: {sorted(TEMPLATES)}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    n_regular = vocab_size - len(SPECIAL_TOKENS)
    trainer = trainers.BpeTrainer(
        vocab_size=n_regular, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
        additional_special_tokens=[USER, ASSISTANT, THINK_OPEN, THINK_CLOSE],
    )
    fast.chat_template = TEMPLATES[template]
    return fast


def save_tokenizer(tokenizer, path: str | Path) -> None:
    Path(path).mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(path))
