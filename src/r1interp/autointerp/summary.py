"""Automatic, non-LLM feature summaries.

Why: without an API key (the default toy run) every selected feature still gets something a
human can read in the graph viewer — the tokens it fires on and the tokens it promotes — clearly
flagged ``label_source: "auto-summary"`` and never presented as an LLM label.
"""

from __future__ import annotations

from collections import Counter

from .inputs import Example
from .prompts import clean_token


def top_activating_tokens(examples: list[Example], k: int = 5) -> list[tuple[str, int]]:
    """Most frequent tokens at each activating example's maximum (count of examples)."""
    c: Counter[str] = Counter()
    for e in examples:
        if e.kind == "negative" or not e.acts or e.max_act <= 0:
            continue
        i = max(range(len(e.acts)), key=lambda j: e.acts[j])
        c[clean_token(e.tokens[i])] += 1
    return c.most_common(k)


def auto_summary(examples: list[Example], top_logits: list[str], bottom_logits: list[str], frac_active: float) -> str:
    toks = ", ".join(f"{t!r}×{n}" for t, n in top_activating_tokens(examples)) or "none"
    up = ", ".join(repr(clean_token(t)) for t in list(top_logits)[:5]) or "n/a"
    down = ", ".join(repr(clean_token(t)) for t in list(bottom_logits)[:5]) or "n/a"
    return f"fires on: {toks}; promotes: {up}; suppresses: {down}; active on {100 * frac_active:.3g}% of tokens"
