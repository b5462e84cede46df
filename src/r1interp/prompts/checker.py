"""Score a generated answer against a prompt's expected answer.

Why it matters: graphs and motif profiles are grouped correct vs incorrect, so the checker must
read what the model actually committed to. Numeric prompts: the last ``\\boxed{...}`` if any,
else the last number. Text prompts: the expected phrase (whole words, any case) in the boxed
content *or* the answer text, because models often box a number while the answer is a sentence
("There is no missing dollar ... \\boxed{\\$27}").

A generation is *scored* only when the model committed to an answer: a reasoning trace that
never closed, or an answer cut off by ``max_new_tokens`` before it ended or boxed anything, is
``unfinished`` (neither correct nor incorrect) — see :func:`answer_status`.
"""

from __future__ import annotations

import re

STATUSES = ("correct", "incorrect", "unfinished")
REFUSAL_MARKERS = ("i can't", "i cannot", "i won't", "i will not", "sorry", "not able to", "unable to", "can't help", "cannot help")
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def extract_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}``, with nested braces balanced."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j].strip()
    return None


def extract_answer(text: str, check: str = "numeric") -> str | None:
    """The answer the model committed to, or None when there is none."""
    boxed = extract_boxed(text)
    if boxed is not None:
        return boxed
    if check == "numeric":
        numbers = _NUMBER.findall(text)
        return numbers[-1] if numbers else None
    return text.strip() or None


def _as_number(s: str) -> float | None:
    m = _NUMBER.search(s.replace("$", ""))
    return float(m.group().replace(",", "")) if m else None


def check_answer(generated: str, expected: str, check: str = "numeric") -> bool:
    """True when the generated answer matches ``expected`` under the prompt's check type."""
    if check == "refusal":
        low = generated.lower()
        return any(marker in low for marker in REFUSAL_MARKERS)
    answer = extract_answer(generated, check)
    if answer is None:
        return False
    if check == "numeric":
        got, want = _as_number(answer), _as_number(expected)
        return got is not None and want is not None and abs(got - want) < 1e-9
    if check == "text":
        return contains_phrase(generated, expected)  # the boxed content is part of the text
    raise ValueError(f"unknown check type {check!r}; allowed: numeric, text, refusal")


def contains_phrase(text: str, phrase: str) -> bool:
    """``phrase`` occurs in ``text`` as whole words (case and spacing ignored)."""
    words = phrase.strip().split()
    if not words:
        return False
    pattern = r"(?<![A-Za-z0-9])" + r"\s+".join(re.escape(w) for w in words) + r"(?![A-Za-z0-9])"
    return re.search(pattern, text, flags=re.IGNORECASE) is not None


def answer_status(answer_text: str, expected: str, check: str = "numeric", finished: bool = True, think_closed: bool = True) -> str:
    """``correct`` | ``incorrect`` | ``unfinished`` (see STATUSES).

    ``think_closed``: the reasoning trace (if the template opens one) closed with ``</think>``.
    ``finished``: the generation ended (end-of-sequence) within its token budget. An answer cut off
    by the budget still counts when it boxed an answer (the model committed to it).
    """
    if check not in ("numeric", "text", "refusal"):
        raise ValueError(f"unknown check type {check!r}; allowed: numeric, text, refusal")
    if not think_closed:
        return "unfinished"
    if not finished and extract_boxed(answer_text) is None:
        return "unfinished"
    return "correct" if check_answer(answer_text, expected, check) else "incorrect"
