"""Synthetic reasoning corpus for the embedded toy setup.

Why synthetic: the default run must rebuild from a fresh clone with no network, yet the toy models
must learn real structure (digits, operators, carries, `<think>` markers) so that transcoder
features and attribution graphs are not noise. Every problem has a step-by-step trace whose
intermediate numbers determine the answer, which activation patching and the correct-vs-incorrect
comparison rely on.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from r1interp.artifacts.write import write_text

KINDS = ("addition", "subtraction", "multiplication", "word_problem", "comparison", "chain")
NAMES = ("Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gia", "Hal")
ITEMS = ("apples", "coins", "books", "stamps", "marbles", "cards")


@dataclass(frozen=True)
class Problem:
    id: str
    kind: str
    question: str
    think: str
    answer: str  # the bare final answer, e.g. "71"

    @property
    def answer_text(self) -> str:
        """The answer as the model writes it after </think>."""
        return f"The answer is \\boxed{{{self.answer}}}."


def _addition(rng: random.Random) -> tuple[str, str, int]:
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    ones = a % 10 + b % 10
    carry = ones // 10
    tens = a // 10 + b // 10 + carry
    steps = f"Add the ones: {a % 10} + {b % 10} = {ones}. "
    steps += f"Write {ones % 10}, carry {carry}. " if carry else f"Write {ones}. "
    steps += f"Add the tens: {a // 10} + {b // 10}" + (f" + {carry}" if carry else "") + f" = {tens}. "
    return f"What is {a} + {b}?", steps + f"So {a} + {b} = {a + b}.", a + b


def _subtraction(rng: random.Random) -> tuple[str, str, int]:
    a = rng.randint(20, 99)
    b = rng.randint(10, a)
    steps = f"Start from {a}. Take away {b // 10 * 10} to get {a - b // 10 * 10}. "
    steps += f"Take away {b % 10} to get {a - b}. "
    return f"What is {a} - {b}?", steps + f"So {a} - {b} = {a - b}.", a - b


def _multiplication(rng: random.Random) -> tuple[str, str, int]:
    a, b = rng.randint(2, 9), rng.randint(2, 12)
    partial = ", ".join(str(a * i) for i in range(1, b + 1)) if b <= 6 else f"{a} times {b}"
    steps = f"Count by {a}: {partial}. " if b <= 6 else f"{a} * {b} is {a} * 10 = {a * 10} plus {a} * {b - 10} = {a * (b - 10)}. " if b > 10 else f"{a} * {b} = {a * b}. "
    return f"What is {a} * {b}?", steps + f"So {a} * {b} = {a * b}.", a * b


def _word_problem(rng: random.Random) -> tuple[str, str, int]:
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    start, more = rng.randint(2, 30), rng.randint(2, 30)
    give = rng.randint(1, start + more)
    q = f"{name} has {start} {item}. {name} gets {more} more and gives away {give}. How many {item} does {name} have now?"
    mid = start + more
    steps = f"{name} starts with {start}. After getting {more}: {start} + {more} = {mid}. "
    steps += f"After giving away {give}: {mid} - {give} = {mid - give}."
    return q, steps, mid - give


def _comparison(rng: random.Random) -> tuple[str, str, int]:
    a, b = rng.sample(range(10, 100), 2)
    if a // 10 != b // 10:
        steps = f"Compare the tens: {a // 10} and {b // 10}. "
    else:
        steps = f"The tens are equal. Compare the ones: {a % 10} and {b % 10}. "
    big = max(a, b)
    return f"Which is larger, {a} or {b}?", steps + f"So {big} is larger.", big


def _chain(rng: random.Random) -> tuple[str, str, int]:
    a, b, c = rng.randint(2, 20), rng.randint(2, 20), rng.randint(2, 9)
    s = a + b
    q = f"Add {a} and {b}, then multiply by {c}. What is the result?"
    steps = f"First {a} + {b} = {s}. Then {s} * {c} = {s * c}."
    return q, steps, s * c


GENERATORS = {
    "addition": _addition,
    "subtraction": _subtraction,
    "multiplication": _multiplication,
    "word_problem": _word_problem,
    "comparison": _comparison,
    "chain": _chain,
}


def generate_corpus(n_problems: int, seed: int = 0) -> list[Problem]:
    """Deterministic: the same (n_problems, seed) always gives the same list."""
    rng = random.Random(seed)
    problems = []
    for i in range(n_problems):
        kind = KINDS[i % len(KINDS)]
        question, think, answer = GENERATORS[kind](rng)
        problems.append(Problem(id=f"toy-{i:06d}", kind=kind, question=question, think=think, answer=str(answer)))
    return problems


def write_corpus(problems: list[Problem], path: str | Path) -> None:
    write_text("".join(json.dumps(asdict(p)) + "\n" for p in problems), path)


def read_corpus(path: str | Path) -> list[Problem]:
    with Path(path).open() as f:
        return [Problem(**json.loads(line)) for line in f if line.strip()]
