"""Per-token segment codes shared by every stage.

Why a fixed integer code: token shards store one ``segment`` value per token (int8), and the
feature, evaluation and graph stages all split statistics by it (``<think>`` vs answer).
"""

from __future__ import annotations

OTHER = 0  # chat scaffolding, special tokens, padding, general text
PROMPT = 1  # the user's turn
THINK = 2  # inside <think> ... </think> (markers included)
ANSWER = 3  # the assistant's final answer after </think>

SEGMENT_NAMES: dict[int, str] = {OTHER: "other", PROMPT: "prompt", THINK: "think", ANSWER: "answer"}
SEGMENT_CODES: dict[str, int] = {name: code for code, name in SEGMENT_NAMES.items()}
