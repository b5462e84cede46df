"""Where the attribution graphs of a generation sit: the tokens where a decision is made (pure).

A graph "at position t" explains the model's prediction of token ``t`` of prompt+output from the
tokens ``ids[:t]``: its input is ``ids[:t]`` and its logit targets are the logits at ``t-1``.

Why not "the first answer token" or "the middle of the trace": those explain boilerplate ("The"
of "The answer is \\boxed{74}", or whatever token the middle falls on). A graph explains a decision:

- ``answer`` (rule ``boxed``): the first token of the answer inside the box the model committed
  to after ``</think>`` — the last non-empty ``\\boxed{``, the one grading reads
  (``core.answers``) — past LaTeX wrappers (``\\text{``, ``\\$``, a fraction's ``\\frac{`` to its
  numerator); rule ``expected``: without a box, the first token of the expected answer's last
  whole-word occurrence (any case) in the answer. Neither found → no answer graph (a recorded reason).
- ``think``: up to ``count`` tokens of the generated trace, chosen by rules in priority order:
  ``result`` = the first token of a number written right after ``=`` (an intermediate result; not
  after ``<=``, ``>=``, ``!=``, ``==``; through ``\\frac{`` and ``$``),
  ``step`` = the first non-blank token of a step (after a line break or a sentence end).
  Candidates of the first rule are taken evenly spread over the trace, then the next rule fills up.

A trace that never closes is *unfinished*: no graphs (the reason is recorded). Positions are
found on the text of the tokens, so they hold for any tokenizer (the toy BPE and Qwen's).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from r1interp.core.answers import answer_box, content_start, phrase_pattern

THINK, ANSWER_PHASE = "think", "answer"
PHASES = (THINK, ANSWER_PHASE)
THINK_RULES = ("result", "step")
_RESULT = re.compile(r"(?<![<>!=])=(?!=)\s*(?:\\[dt]?frac\s*\{)?(?:\\\$|\$)?\s*(-?\d)")
_STEP = re.compile(r"(?:^|\n|[.!?]\s)\s*(\S)")


@dataclass(frozen=True)
class GraphTarget:
    """One graph: the phase, the explained token's index in prompt+output, and the rule that chose it."""

    phase: str
    position: int
    rule: str


def graph_id(prompt_id: str, phase: str, position: int) -> str:
    """Graph ids (and viewer slugs): ``{prompt_id}-{phase}-p{position}`` — unique per explained token."""
    return f"{prompt_id}-{phase}-p{position}"


def char_offsets(pieces: Sequence[str]) -> list[int]:
    """Start offset of each token's text in their concatenation (plus the end)."""
    out, at = [], 0
    for p in pieces:
        out.append(at)
        at += len(p)
    out.append(at)
    return out


def token_at(offsets: Sequence[int], char: int) -> int:
    """Index of the token whose text contains character ``char`` (offsets from :func:`char_offsets`)."""
    lo, hi = 0, len(offsets) - 2
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if offsets[mid] <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def answer_target(pieces: Sequence[str], start: int, stop: int, expected: str | None) -> GraphTarget | None:
    """The answer's first content token among tokens ``start:stop`` (see module doc), or None."""
    if stop <= start:
        return None
    region = pieces[start:stop]
    text = "".join(region)
    offsets = char_offsets(region)
    box = answer_box(text)
    if box is not None:
        content = content_start(text, *box)
        if content < box[1]:
            return GraphTarget(ANSWER_PHASE, start + token_at(offsets, content), "boxed")
    pattern = phrase_pattern(expected or "")
    if pattern is not None:
        found = list(pattern.finditer(text))
        if found:
            return GraphTarget(ANSWER_PHASE, start + token_at(offsets, found[-1].start()), "expected")
    return None


def _spread(candidates: Sequence[int], k: int) -> list[int]:
    """``k`` of ``candidates`` evenly spread (all of them when there are at most ``k``)."""
    if len(candidates) <= k:
        return list(candidates)
    if k == 1:
        return [candidates[len(candidates) // 2]]
    step = (len(candidates) - 1) / (k - 1)
    return [candidates[round(i * step)] for i in range(k)]


def think_targets(pieces: Sequence[str], start: int, stop: int, rules: Sequence[str], count: int) -> list[GraphTarget]:
    """Up to ``count`` decision tokens of the trace ``start:stop`` (see module doc), by position."""
    bad = [r for r in rules if r not in THINK_RULES]
    if bad:
        raise ValueError(f"graphs.think_rules: unknown rule(s) {bad}; allowed: {list(THINK_RULES)}")
    if stop <= start or count < 1:
        return []
    region = pieces[start:stop]
    text = "".join(region)
    offsets = char_offsets(region)
    found: dict[str, list[int]] = {}
    for rule in rules:
        pattern = _RESULT if rule == "result" else _STEP
        idx = sorted({start + token_at(offsets, m.start(1)) for m in pattern.finditer(text)})
        found[rule] = idx
    chosen: dict[int, str] = {}
    for rule in rules:
        fresh = [i for i in found[rule] if i not in chosen]
        for i in _spread(fresh, count - len(chosen)):
            chosen[i] = rule
        if len(chosen) >= count:
            break
    return [GraphTarget(THINK, i, chosen[i]) for i in sorted(chosen)]


@dataclass(frozen=True)
class GenerationSpan:
    """Where a generation's parts are: prompt length, ``<think>``/``</think>`` indices (-1: none), length."""

    n_prompt: int
    think_start: int
    think_end: int
    n_total: int
    eos_at: int = -1  # index of the end-of-sequence token in the output (-1: none)


def plan_targets(pieces: Sequence[str], span: GenerationSpan, expected: str | None, think_rules: Sequence[str],
                 think_count: int) -> tuple[list[GraphTarget], str]:
    """All graph targets of one generation and, when there are none, the reason."""
    if len(pieces) != span.n_total:
        raise ValueError(f"{len(pieces)} token texts for {span.n_total} tokens")
    stop = span.eos_at if span.eos_at >= 0 else span.n_total
    if span.think_start >= 0 and span.think_end < 0:
        return [], "unfinished: the <think> trace did not close"
    targets: list[GraphTarget] = []
    if span.think_start >= 0:
        trace_from = max(span.think_start + 1, span.n_prompt)
        targets += think_targets(pieces, trace_from, span.think_end, think_rules, think_count)
        answer_from = span.think_end + 1
    else:
        answer_from = span.n_prompt
    answer = answer_target(pieces, answer_from, stop, expected)
    if answer is not None:
        targets.append(answer)
    reason = "" if targets else "no decision token: no intermediate result, step or answer content found"
    if targets and answer is None:
        reason = "no answer graph: no \\boxed{} content or expected answer in the answer"
    return targets, reason


def check_context(prompt_id: str, position: int, phase: str, max_context: int) -> str:
    """'' when the graph input fits ``graphs.max_context``, else the reason naming the lengths."""
    if position > max_context:
        return (f"prompt {prompt_id!r}: the {phase!r} graph needs {position} input tokens, "
                f"more than graphs.max_context={max_context}")
    return ""
