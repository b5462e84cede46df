"""Token-level number edits inside a reasoning trace (pure functions plus a tokenizer).

Why token level: the corrupted trace must be the clean one with *only* a number changed, so the
two sequences align position by position and a residual can be copied from one into the other.
A number is located on the decoded text of its tokens; the tokens that cover it are re-encoded
with a new value; a value whose encoding keeps the token count is preferred (exact alignment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NUMBER_RE = re.compile(r"[0-9]+")
BOXED_RE = re.compile(r"\\boxed\{\s*-?([0-9]+)")


@dataclass(frozen=True)
class NumberSpan:
    """A number covering tokens ``[tok_lo, tok_hi)``; ``text`` is those tokens' decoded text and
    the number is ``text[char_lo:char_hi]``."""

    tok_lo: int
    tok_hi: int
    text: str
    char_lo: int
    char_hi: int

    @property
    def value(self) -> int:
        return int(self.text[self.char_lo : self.char_hi])


def token_strings(tokenizer, ids) -> list[str]:
    """Each token decoded alone (digits are ASCII, so byte-level pieces decode faithfully)."""
    return [tokenizer.decode([int(i)], clean_up_tokenization_spaces=False) for i in ids]


def _spans(pieces: list[str], lo: int, hi: int, pattern: re.Pattern, group: int = 0) -> list[NumberSpan]:
    text = "".join(pieces[lo:hi])
    starts = []  # char offset of each token in `text`
    offset = 0
    for p in pieces[lo:hi]:
        starts.append(offset)
        offset += len(p)
    spans = []
    for m in pattern.finditer(text):
        c0, c1 = m.span(group)
        t0 = max(i for i, s in enumerate(starts) if s <= c0)
        t1 = max(i for i, s in enumerate(starts) if s < c1) + 1
        tok_text = "".join(pieces[lo + t0 : lo + t1])
        if "\ufffd" in tok_text:  # a token split a multi-byte character: cannot re-encode faithfully
            continue
        spans.append(NumberSpan(lo + t0, lo + t1, tok_text, c0 - starts[t0], c1 - starts[t0]))
    return spans


def number_spans(pieces: list[str], lo: int, hi: int) -> list[NumberSpan]:
    """Every run of digits among tokens ``[lo, hi)``, in order."""
    return _spans(pieces, lo, hi, NUMBER_RE)


def answer_span(pieces: list[str], lo: int, hi: int) -> NumberSpan | None:
    """The final answer's number among tokens ``[lo, hi)``: the last ``\\boxed{N}``, else the last number."""
    boxed = _spans(pieces, lo, hi, BOXED_RE, group=1)
    if boxed:
        return boxed[-1]
    plain = number_spans(pieces, lo, hi)
    return plain[-1] if plain else None


def replacement_values(value: int, n: int) -> list[int]:
    """Up to ``n`` distinct non-negative replacements, nearest first (+1, −1, +2, −2, ...), then ×10 shifts."""
    out: list[int] = []
    step = 1
    while len(out) < n and step <= 4 * n + 10:
        for cand in (value + step, value - step):
            if cand >= 0 and cand != value and cand not in out and len(out) < n:
                out.append(cand)
        step += 1
    return out


def edit_number(tokenizer, ids: list[int], span: NumberSpan, new_value: int) -> list[int]:
    """``ids`` with the tokens of ``span`` re-encoded so that they spell ``new_value``."""
    new_text = span.text[: span.char_lo] + str(new_value) + span.text[span.char_hi :]
    new_tokens = tokenizer.encode(new_text, add_special_tokens=False)
    return list(ids[: span.tok_lo]) + list(new_tokens) + list(ids[span.tok_hi :])


def map_position(pos: int, edit_lo: int, edit_hi: int, delta: int) -> int | None:
    """Clean position → corrupted position when tokens ``[edit_lo, edit_hi)`` changed length by ``delta``.

    Positions inside an edit that changed length have no counterpart (None).
    """
    if pos < edit_lo:
        return pos
    if pos >= edit_hi:
        return pos + delta
    return pos if delta == 0 else None
