"""Clean/corrupted trace pairs from a model's own generations, validated on the model.

A pair is kept only if the corruption changes the model's answer: both sequences are
teacher-forced through the clean answer number, and the *decision position* is the first
position where the two greedy (argmax) predictions differ. The clean prediction there must be
the model's own greedy choice (every earlier answer token equals its argmax), so the clean run
is on-policy. Everything else is dropped with a reason, and the reasons are counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from torch import nn
from tqdm import tqdm

from r1interp.artifacts.generations import Trace

from r1interp.models import free_memory, is_oom
from r1interp.utils import check_fields
from r1interp.patching.edits import (
    NumberSpan,
    answer_span,
    edit_number,
    number_spans,
    replacement_values,
    token_strings,
)
from r1interp.patching.residual import logits_at

log = logging.getLogger(__name__)

DROP_REASONS = (
    "no_think",
    "think_not_closed",
    "no_answer_number",
    "no_number_in_think",
    "too_long",
    "answer_unchanged",
    "oom",
)


@dataclass
class PairConfig:
    max_len: int = 1024
    """Clean sequences (through the answer number) longer than this are dropped."""
    max_edits: int = 12
    """Forward passes spent looking for an answer-changing edit per trace."""
    values_per_number: int = 4
    """Replacement values tried per number in the trace."""
    allow_length_change: bool = True
    """Fall back to edits that change the token count (positions after the edit are shifted)."""

    def __post_init__(self) -> None:
        check_fields("patching pair setting", self, {"max_len": self.max_len >= 2, "max_edits": self.max_edits >= 1,
                                                      "values_per_number": self.values_per_number >= 1})


@dataclass
class Pair:
    """A validated pair, truncated so that the last position is the decision position."""

    pair_id: str
    prompt_id: str
    category: str
    clean_ids: list[int]
    corrupt_ids: list[int]
    edit_lo: int  # clean tokens [edit_lo, edit_hi) were replaced
    edit_hi: int
    delta: int  # len(corrupt) − len(clean)
    clean_value: int
    corrupt_value: int
    think_end: int  # position of </think> (clean coordinates)
    clean_token: int  # clean argmax at the decision position
    corrupt_token: int  # corrupted argmax at the decision position
    extra: dict = field(default_factory=dict)

    @property
    def decision_pos(self) -> int:
        return len(self.clean_ids) - 1


@dataclass
class PairOutcome:
    prompt_id: str
    category: str
    pair: Pair | None
    reason: str | None  # None when kept
    n_edits_tried: int = 0
    n_tokens: int = 0


def first_divergence(clean_pred: np.ndarray, corrupt_pred: np.ndarray, clean_tokens: np.ndarray) -> int | None:
    """Index j of the decision position among the answer tokens, or None.

    ``clean_pred[j]``/``corrupt_pred[j]`` are the argmax predictions for answer token j under
    teacher forcing; ``clean_tokens[j]`` is the clean trace's token. Valid j: predictions differ
    at j and the clean model's greedy choice reproduces the trace before j (on-policy prefix).
    """
    greedy_ok = np.cumprod(np.concatenate([[True], clean_pred[:-1] == clean_tokens[:-1]])).astype(bool)
    for j in range(len(clean_pred)):
        if not greedy_ok[j]:
            return None
        if clean_pred[j] != corrupt_pred[j]:
            return j
    return None


def candidate_edits(tokenizer, ids: list[int], spans: list[NumberSpan], cfg: PairConfig) -> list[tuple[NumberSpan, int, list[int]]]:
    """(span, new value, corrupted ids): last number in the trace first, same-length edits first."""
    same, other = [], []
    for span in reversed(spans):
        for value in replacement_values(span.value, cfg.values_per_number):
            new_ids = edit_number(tokenizer, ids, span, value)
            (same if len(new_ids) == len(ids) else other).append((span, value, new_ids))
    return same + (other if cfg.allow_length_change else [])


def build_pair(model: nn.Module, tokenizer, trace: Trace, cfg: PairConfig) -> PairOutcome:
    """Search for an answer-changing number edit in ``trace``; see the module docstring."""
    out = PairOutcome(trace.prompt_id, trace.category, None, None, n_tokens=len(trace.ids))
    ids = [int(i) for i in trace.ids]
    ts, te = trace.think_start, trace.think_end
    if ts < 0:
        out.reason = "no_think"
        return out
    if te <= ts:
        out.reason = "think_not_closed"
        return out
    pieces = token_strings(tokenizer, ids)
    ans = answer_span(pieces, te + 1, len(ids))
    if ans is None:
        out.reason = "no_answer_number"
        return out
    spans = number_spans(pieces, ts + 1, te)
    if not spans:
        out.reason = "no_number_in_think"
        return out
    clean = ids[: ans.tok_hi]
    if len(clean) > cfg.max_len:
        out.reason = "too_long"
        return out
    ans_pos = list(range(ans.tok_lo, ans.tok_hi))  # answer-number tokens; predicted from pos − 1
    clean_tokens = np.asarray([clean[p] for p in ans_pos])
    clean_logits = logits_at(model, clean, [p - 1 for p in ans_pos])
    clean_pred = clean_logits.argmax(-1).cpu().numpy()
    for span, value, corrupt in candidate_edits(tokenizer, clean, spans, cfg):
        if out.n_edits_tried >= cfg.max_edits:
            break
        out.n_edits_tried += 1
        delta = len(corrupt) - len(clean)
        corrupt_logits = logits_at(model, corrupt, [p - 1 + delta for p in ans_pos])
        corrupt_pred = corrupt_logits.argmax(-1).cpu().numpy()
        j = first_divergence(clean_pred, corrupt_pred, clean_tokens)
        if j is None:
            continue
        decision = ans_pos[j] - 1
        out.pair = Pair(
            pair_id=trace.prompt_id,
            prompt_id=trace.prompt_id,
            category=trace.category,
            clean_ids=clean[: decision + 1],
            corrupt_ids=corrupt[: decision + 1 + delta],
            edit_lo=span.tok_lo,
            edit_hi=span.tok_hi,
            delta=delta,
            clean_value=span.value,
            corrupt_value=value,
            think_end=te,
            clean_token=int(clean_pred[j]),
            corrupt_token=int(corrupt_pred[j]),
            extra={
                "clean_token_str": tokenizer.decode([int(clean_pred[j])]),
                "corrupt_token_str": tokenizer.decode([int(corrupt_pred[j])]),
                "answer_token_index": j,
            },
        )
        return out
    out.reason = "answer_unchanged"
    return out


def build_pairs(model: nn.Module, tokenizer, traces: list[Trace], cfg: PairConfig, max_pairs: int = 0) -> list[PairOutcome]:
    """One outcome per trace until ``max_pairs`` pairs are kept (0 = no limit); OOM is skipped and logged."""
    outcomes: list[PairOutcome] = []
    n_kept = 0
    for trace in tqdm(traces, desc="pairs", unit="trace"):
        if max_pairs and n_kept >= max_pairs:
            break
        try:
            outcome = build_pair(model, tokenizer, trace, cfg)
        except RuntimeError as err:
            if not is_oom(err):
                raise
            free_memory()
            outcome = PairOutcome(trace.prompt_id, trace.category, None, "oom", n_tokens=len(trace.ids))
        if outcome.pair is None:
            log.info("drop %s: %s (%d edits tried)", trace.prompt_id, outcome.reason, outcome.n_edits_tried)
        n_kept += outcome.pair is not None
        outcomes.append(outcome)
    return outcomes

