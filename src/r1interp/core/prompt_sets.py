"""Prompt sets: the 24-prompt benchmark for the real models and a toy set of the same shape."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

from r1interp.core.toy_corpus import GENERATORS

CATEGORY_COUNTS = {
    "arithmetic": 5, "multihop": 4, "reasoning": 4, "factual_recall": 4,
    "safety": 3, "reasoning_failure": 2, "baseline": 2,
}


@dataclass(frozen=True)
class Prompt:
    id: str
    category: str
    text: str
    expected: str
    needs_reasoning: bool
    check: str = "numeric"


def benchmark_prompts() -> list[Prompt]:
    data = json.loads(resources.files("r1interp.core").joinpath("benchmark.json").read_text())
    return [Prompt(**d) for d in data]


# Toy categories map onto the toy corpus generators; a held-out seed keeps them out of training.
TOY_LAYOUT = [
    ("arithmetic", "addition", 2), ("arithmetic", "subtraction", 1), ("arithmetic", "multiplication", 1),
    ("multihop", "chain", 2), ("reasoning", "word_problem", 2), ("baseline", "comparison", 2),
]


def toy_prompts(seed: int = 12345) -> list[Prompt]:
    import random

    rng = random.Random(seed)
    prompts = []
    for category, kind, count in TOY_LAYOUT:
        for i in range(count):
            question, _, answer = GENERATORS[kind](rng)
            prompts.append(Prompt(id=f"toy-{kind}-{i}", category=category, text=question, expected=str(answer),
                                  needs_reasoning=category != "baseline", check="numeric"))
    return prompts


def load_prompt_set(name: str) -> list[Prompt]:
    if name == "benchmark":
        return benchmark_prompts()
    if name == "toy":
        return toy_prompts()
    raise ValueError(f"unknown prompt set {name!r}; allowed: benchmark, toy")
