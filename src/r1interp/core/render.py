"""Chat-template rendering and per-token ``<think>``/answer segmentation.

Why character spans + offsets: the segment of each token must be right for any tokenizer (the toy
BPE and Qwen's real one), and BPE merges across piece boundaries would make per-piece
tokenisation wrong. We render the whole conversation with the model's own chat template, label
characters, and give each token the label of its first character.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from r1interp.artifacts.segments import ANSWER, OTHER, PROMPT, THINK

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class Example:
    """One conversation to render: a question, an optional reasoning trace, and the answer text."""

    id: str
    kind: str
    question: str
    think: str | None
    answer: str


def user_message(question: str, instruction: str | None) -> str:
    """DeepSeek's recommended math directive goes before the problem."""
    return f"{instruction}\n{question}" if instruction else question


def render_prompt(tokenizer, question: str, template: str, instruction: str | None) -> str:
    """The chat-templated prompt up to and including the assistant turn's opening."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message(question, instruction)}], tokenize=False, add_generation_prompt=True
    )
    if template == "r1" and not text.rstrip("\n").endswith(THINK_OPEN):
        text += THINK_OPEN + "\n"  # older R1 template revisions leave <think> to the model
    return text


def render_example(tokenizer, ex: Example, template: str, instruction: str | None) -> tuple[str, np.ndarray]:
    """Render ``ex`` as a full conversation; returns the text and a per-character segment array."""
    prompt = render_prompt(tokenizer, ex.question, template, instruction)
    if template == "r1":
        body = f"{ex.think or ''}\n{THINK_CLOSE}\n\n{ex.answer}"
    else:
        body = ex.answer
    eos = tokenizer.eos_token or ""
    text = prompt + body + eos
    seg = np.full(len(text), OTHER, dtype=np.int8)
    content = user_message(ex.question, instruction)
    start = prompt.find(content)
    if start < 0:
        raise ValueError(f"chat template dropped the user message of example {ex.id!r}")
    seg[start : start + len(content)] = PROMPT
    answer_start = len(prompt)
    if template == "r1":
        think_start = prompt.rfind(THINK_OPEN)
        close = text.index(THINK_CLOSE, len(prompt)) + len(THINK_CLOSE)
        seg[think_start:close] = THINK
        answer_start = close
    seg[answer_start : len(text) - len(eos)] = ANSWER
    return text, seg


def tokenize_with_segments(tokenizer, text: str, char_segments: np.ndarray, max_len: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and per-token segment codes.

    A token takes the label of its *last* character: a byte-level token that straddles a boundary
    (e.g. a leading newline) belongs to the segment it ends in.
    """
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = np.asarray(enc["input_ids"], dtype=np.int32)
    segs = np.empty(len(ids), dtype=np.int8)
    for i, (a, b) in enumerate(enc["offset_mapping"]):
        segs[i] = char_segments[max(a, min(b, len(text)) - 1)] if b > a else OTHER
    if max_len is not None:
        ids, segs = ids[:max_len], segs[:max_len]
    return ids, segs
