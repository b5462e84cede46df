"""Prompt templates (versioned) and strict parsers for Claude's replies.

Why versioned: every label records the ``prompt_version`` that produced it, and the journal keys
on it, so changing a template means bumping the version (old answers are then not reused).
Marking follows delphi: activating tokens are wrapped as ``<<tok>>`` (consecutive ones merged).
Parsers raise ``ParseError`` so a malformed reply is retried like a transient error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .config import CLASSES, PROMPT_VERSIONS
from .inputs import Example
from .sampling import Sample



class ParseError(ValueError):
    """Claude's reply did not contain the JSON we asked for."""


def clean_token(tok: str) -> str:
    """Keep one example per line and keep our ``<< >>`` markers unambiguous."""
    return (
        tok.replace("\r", "\\r")
        .replace("\n", "\\n")
        .replace("\t", "\\t")
        .replace("<<", "‹‹")
        .replace(">>", "››")
    )


def render(tokens: tuple[str, ...], marked: tuple[int, ...] = ()) -> str:
    """Concatenate tokens, wrapping each run of consecutive marked indices in ``<<…>>``."""
    marks = set(marked)
    out: list[str] = []
    for i, tok in enumerate(tokens):
        t = clean_token(tok)
        if i in marks and (i - 1) not in marks:
            t = "<<" + t
        if i in marks and (i + 1) not in marks:
            t = t + ">>"
        out.append(t)
    return "".join(out)


# ----------------------------------------------------------------------------- explanation

EXPLAIN_SYSTEM = (
    "You are an interpretability researcher. You explain what a single feature (latent) of a "
    "sparse transcoder trained on a language model's MLP detects. You are shown text excerpts "
    "from the model's inputs; tokens where the feature is active are marked <<like this>>, and "
    "each excerpt lists its strongest tokens with activations scaled to 0-10 (10 = the feature's "
    "strongest activation among the excerpts). The texts come from math and reasoning "
    "transcripts; <think> ... </think> encloses the model's reasoning. Answer with one JSON "
    "object and nothing else."
)

CLASS_HELP = (
    '"token-level": fires on particular tokens or spellings, largely regardless of context; '
    '"domain": fires on a topic, format or kind of text (arithmetic, code, chat scaffolding); '
    '"reasoning": tracks a step or state of reasoning (planning, checking, backtracking, '
    'concluding, being inside the reasoning); "uninterpretable": no coherent pattern.'
)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * float(x):.3g}%"


@dataclass(frozen=True)
class FeatureContext:
    """What the explainer is told besides the examples (from the stats table)."""

    frac_active: float
    frac_by_segment: dict[str, float]
    top_logits: tuple[str, ...]
    bottom_logits: tuple[str, ...]


def explain_prompt(version: str, examples: list[Example], ctx: FeatureContext, threshold: float) -> tuple[str, str]:
    """(system, user) for the explanation request."""
    from .sampling import active_marks

    _check_version(version)
    scale = max((e.max_act for e in examples), default=0.0) or 1.0
    lines = [
        f"The feature is active on {_pct(ctx.frac_active)} of tokens"
        + (
            " (" + ", ".join(f"{k}: {_pct(v)}" for k, v in ctx.frac_by_segment.items()) + ")."
            if ctx.frac_by_segment
            else "."
        ),
        "Output tokens it promotes (logit lens): " + (", ".join(repr(clean_token(t)) for t in ctx.top_logits) or "n/a"),
        "Output tokens it suppresses: " + (", ".join(repr(clean_token(t)) for t in ctx.bottom_logits) or "n/a"),
        "",
        "Excerpts (strongest activations first, then samples of weaker activation levels):",
    ]
    for n, e in enumerate(examples, 1):
        marks = active_marks(e.acts, threshold)
        lines.append(f"Example {n}: {render(e.tokens, marks)}")
        strongest = sorted(marks, key=lambda i: -e.acts[i])[:4]
        acts = ", ".join(f"{clean_token(e.tokens[i])!r}={round(10 * e.acts[i] / scale)}" for i in strongest)
        lines.append(f"  activations: {acts}")
    lines += [
        "",
        "What does this feature detect? Reply with only this JSON object:",
        '{"label": "<concise label, at most 8 words>", "confidence": <number from 0 to 1: how well '
        'one explanation covers all excerpts>, "explanation": "<one or two sentences>", '
        '"class": "token-level" | "domain" | "reasoning" | "uninterpretable"}',
        "Classes: " + CLASS_HELP,
    ]
    return EXPLAIN_SYSTEM, "\n".join(lines)


def _json_in_reply(text: str, brackets: str, what: str):
    """The outermost ``brackets``-delimited JSON value of a reply (code fences ignored)."""
    t = re.sub(r"^```(?:json)?|```$", "", text.strip(), flags=re.M).strip()
    start, end = t.find(brackets[0]), t.rfind(brackets[1])
    if start < 0 or end <= start:
        raise ParseError(f"no JSON {what} in reply")
    try:
        return json.loads(t[start : end + 1])
    except json.JSONDecodeError as e:
        raise ParseError(f"invalid JSON {what}: {e.msg}") from e


def _json_object(text: str) -> dict:
    obj = _json_in_reply(text, "{}", "object")
    if not isinstance(obj, dict):
        raise ParseError("reply JSON is not an object")
    return obj


def parse_explanation(text: str) -> dict:
    """``{label, confidence, explanation, class}`` with types and ranges checked."""
    obj = _json_object(text)
    label = obj.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ParseError("missing or empty 'label'")
    try:
        conf = float(obj.get("confidence"))
    except (TypeError, ValueError) as e:
        raise ParseError("'confidence' is not a number") from e
    if not 0.0 <= conf <= 1.0:
        raise ParseError(f"'confidence' {conf} outside [0, 1]")
    cls = str(obj.get("class", "")).strip().lower().replace("_", "-").replace(" ", "-")
    if cls not in CLASSES:
        raise ParseError(f"'class' {obj.get('class')!r} not one of {CLASSES}")
    expl = obj.get("explanation", "")
    if not isinstance(expl, str):
        raise ParseError("'explanation' is not a string")
    return {"label": label.strip()[:200], "confidence": conf, "explanation": expl.strip(), "class": cls}


# ----------------------------------------------------------------------------- scoring

DETECTION_SYSTEM = (
    "You evaluate an explanation of a feature of a language model. Given the explanation, you "
    "decide for each text excerpt whether the feature activates anywhere in it. Answer with one "
    "JSON array and nothing else."
)

FUZZING_SYSTEM = (
    "You evaluate an explanation of a feature of a language model. In each text excerpt some "
    "tokens are marked <<like this>>. In some excerpts the marks sit exactly on the tokens where "
    "the feature activates; in the others they were placed on random tokens. Decide for each "
    "excerpt whether its marks are the feature's. Answer with one JSON array and nothing else."
)


def _explanation_line(expl: dict) -> str:
    return f"Explanation of the feature: {expl['label']}. {expl.get('explanation', '')}".rstrip()


def _scoring_prompt(version: str, expl: dict, samples: list[Sample], marked: bool, question: str) -> str:
    """The user turn of both scorers: the explanation, the numbered excerpts, the 0/1 question."""
    _check_version(version)
    lines = [_explanation_line(expl), "", f"{len(samples)} excerpts:"]
    lines += [f"Example {n}: {render(s.example.tokens, s.marked) if marked else render(s.example.tokens)}"
              for n, s in enumerate(samples, 1)]
    lines += ["", f"{question} Reply with only a JSON array of {len(samples)} integers in excerpt order, e.g. [1, 0, ...]."]
    return "\n".join(lines)


def detection_prompt(version: str, expl: dict, samples: list[Sample]) -> tuple[str, str]:
    question = "For each excerpt answer 1 if the feature activates in it, else 0."
    return DETECTION_SYSTEM, _scoring_prompt(version, expl, samples, False, question)


def fuzzing_prompt(version: str, expl: dict, samples: list[Sample]) -> tuple[str, str]:
    question = "For each excerpt answer 1 if the marked tokens are where this feature activates, else 0."
    return FUZZING_SYSTEM, _scoring_prompt(version, expl, samples, True, question)


def parse_binary_list(text: str, n: int) -> list[int]:
    """A JSON array of exactly ``n`` 0/1 values (booleans accepted)."""
    arr = _json_in_reply(text, "[]", "array")
    if not isinstance(arr, list) or len(arr) != n:
        raise ParseError(f"expected an array of {n} values, got {len(arr) if isinstance(arr, list) else type(arr)}")
    out = []
    for v in arr:
        if isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)):
            out.append(int(v))
        else:
            raise ParseError(f"array value {v!r} is not 0/1")
    return out


def _check_version(version: str) -> None:
    if version not in PROMPT_VERSIONS:
        raise ValueError(f"unknown prompt_version {version!r}; known: {PROMPT_VERSIONS}")
