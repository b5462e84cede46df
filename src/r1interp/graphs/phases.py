"""Where in a prompt's greedy generation the attribution graphs sit (pure functions).

A graph "at position t" explains the model's prediction of token ``t`` of prompt+output from
the tokens ``ids[:t]``: its input is ``ids[:t]`` and its logit targets are the logits at ``t-1``.
The token the model actually generated at ``t`` (greedy) is recorded next to the graph.

Phases:

- ``think``: for prompts that need reasoning and whose text has a ``<think>`` trace, one token of
  the trace the model *generated* (so never a template token of the prompt), at
  ``think_fraction`` of the way through it (default 0.5: the middle). The trace runs from the
  first generated token after ``<think>`` up to, not including, ``</think>`` (or the end of the
  output when the trace never closes).
- ``answer``: the first non-blank answer token after ``</think>`` (segment ANSWER; blank =
  whitespace-only tokens, given by the caller from its tokenizer) — the graph of how the model
  starts its answer.
- ``full``: otherwise (base model, no trace, or nothing to explain), the first generated token
  right after the prompt — the graph of the whole prompt.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from r1interp.data.segments import ANSWER

THINK, ANSWER_PHASE, FULL = "think", "answer", "full"
PHASES = (THINK, ANSWER_PHASE, FULL)


class ContextTooLongError(ValueError):
    """A graph input is longer than ``graphs.max_context``."""


@dataclass(frozen=True)
class PhasePosition:
    phase: str
    position: int  # index of the predicted token in prompt+output; the graph input is ids[:position]


def graph_id(prompt_id: str, phase: str) -> str:
    """Graph ids (and viewer slugs): ``{prompt_id}-{phase}``."""
    return f"{prompt_id}-{phase}"


def phase_positions(
    ids: Sequence[int],
    n_prompt: int,
    segment: Sequence[int],
    think_start: int,
    think_end: int,
    needs_reasoning: bool,
    blank_ids: Collection[int] = (),
    think_fraction: float = 0.5,
) -> list[PhasePosition]:
    """Graph positions for one generation (see the module docstring)."""
    total = len(ids)
    if len(segment) != total:
        raise ValueError(f"segment has {len(segment)} codes for {total} tokens")
    if not 1 <= n_prompt <= total:
        raise ValueError(f"prompt length {n_prompt} outside 1..{total}")
    if not 0.0 <= think_fraction < 1.0:
        raise ValueError(f"think_fraction={think_fraction} must be in [0, 1)")
    out: list[PhasePosition] = []
    if needs_reasoning and think_start >= 0:
        trace_stop = think_end if think_end >= 0 else total
        lo, hi = max(think_start + 1, n_prompt), trace_stop
        if hi > lo:
            out.append(PhasePosition(THINK, lo + int((hi - lo) * think_fraction)))
        if think_end >= 0:
            first_answer = next(
                (i for i in range(max(think_end + 1, n_prompt), total) if segment[i] == ANSWER and ids[i] not in blank_ids),
                None,
            )
            if first_answer is not None:
                out.append(PhasePosition(ANSWER_PHASE, first_answer))
    return out or [PhasePosition(FULL, n_prompt)]


def check_context(prompt_id: str, n_prompt: int, n_total: int, positions: Sequence[PhasePosition], max_context: int) -> None:
    """Raise :class:`ContextTooLongError` naming the prompt and lengths if any graph input is too long."""
    for p in positions:
        if p.position > max_context:
            raise ContextTooLongError(
                f"prompt {prompt_id!r}: the {p.phase!r} graph needs {p.position} input tokens "
                f"(prompt {n_prompt} + {p.position - n_prompt} generated, of {n_total} in all), "
                f"more than graphs.max_context={max_context}"
            )
