"""Where a model's answer sits in its text (pure): the box it committed to and where the answer
inside it begins. One module, because grading (``prompts.checker``) and the answer graph
(``graphs.phases``) must read the same box: a graph of the first box next to a grade of the last
explained an answer the grade did not judge.
"""

from __future__ import annotations

import re

_WRAPPER = re.compile(r"\\(?:text|textbf|textrm|textit|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathtt|emph|mbox|hbox|rm|bf|it"
                      r"|operatorname|boxed|displaystyle|left|right)\b\s*\{?|\\\$|\$|\{|\(|\\[,!; ]")
_FRAC_OPEN = re.compile(r"\\[dt]?frac\s*\{")


def boxed_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character spans of the contents of every closed ``\\boxed{...}`` (nested braces balanced)."""
    spans, at = [], text.find("\\boxed{")
    while at >= 0:
        depth, i = 1, at + len("\\boxed{")
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                spans.append((i, j))
                break
        at = text.find("\\boxed{", at + 1)
    return [(a, b) for a, b in spans if not any(a < a2 and b2 <= b for a2, b2 in spans if (a2, b2) != (a, b))]


def answer_box(text: str) -> tuple[int, int] | None:
    """The span of the box the model committed to: the last non-empty one (graphs and grading read the same box)."""
    full = [(a, b) for a, b in boxed_spans(text) if text[a:b].strip()]
    return full[-1] if full else None


def content_start(text: str, start: int, end: int) -> int:
    """Where the answer itself begins inside a box ``text[start:end]``: past spaces and LaTeX wrappers
    (``\\text{``, ``\\$``, a nested ``\\boxed{``, braces), at a fraction's numerator; ``end`` if none."""
    i = start
    while i < end:
        if text[i].isspace():
            i += 1
            continue
        m = _FRAC_OPEN.match(text, i) or _WRAPPER.match(text, i)
        if m and m.end() > i:
            i = m.end()
            continue
        break
    return i


def phrase_pattern(phrase: str) -> re.Pattern | None:
    """``phrase`` as whole words, case and spacing ignored (None for an empty phrase)."""
    words = phrase.strip().split()
    if not words:
        return None
    return re.compile(r"(?<![A-Za-z0-9])" + r"\s+".join(re.escape(w) for w in words) + r"(?![A-Za-z0-9])", re.IGNORECASE)


