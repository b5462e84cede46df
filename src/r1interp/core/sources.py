"""Where conversations come from: the toy corpus or Hugging Face datasets (OpenR1-Math-220k style).

Why a local-file path too: real runs read the hub datasets through ``datasets`` (from the local
cache on offline clusters); the same parsing is exercised in tests on a small local fixture with
the same columns, so the real code path is tested without network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from r1interp.core.render import THINK_CLOSE, THINK_OPEN, Example
from r1interp.core.toy_corpus import read_corpus


def toy_examples(corpus_path: str | Path) -> Iterator[Example]:
    for p in read_corpus(corpus_path):
        yield Example(id=p.id, kind=p.kind, question=p.question, think=p.think, answer=p.answer_text)


def split_trace(generation: str) -> tuple[str | None, str]:
    """Split an R1 generation into (think, answer); (None, text) when it has no closed trace."""
    if THINK_CLOSE not in generation:
        return None, generation.strip()
    think, answer = generation.split(THINK_CLOSE, 1)
    think = think.split(THINK_OPEN, 1)[-1]
    return think.strip(), answer.strip()


def openr1_example(row: dict, index: int, source: str) -> Example | None:
    """One OpenR1-Math-220k row → Example, using its first verified-correct generation."""
    generations = row.get("generations") or []
    correct = row.get("correctness_math_verify") or [True] * len(generations)
    chosen = next((g for g, ok in zip(generations, correct) if ok), generations[0] if generations else None)
    if chosen is None:
        if not row.get("solution"):
            return None
        think, answer = None, str(row["solution"])
    else:
        think, answer = split_trace(chosen)
    return Example(id=f"{source}-{row.get('uuid', index)}", kind="reasoning", question=str(row["problem"]), think=think, answer=answer)


def text_example(row: dict, index: int, source: str, kind: str, column: str) -> Example | None:
    text = row.get(column)
    if not text:
        return None
    return Example(id=f"{source}-{index}", kind=kind, question="", think=None, answer=str(text))


def load_rows(spec: dict, local_files: list[str]):
    """Rows of one dataset spec: a local parquet/jsonl file list if given, else the HF dataset."""
    import datasets

    if local_files:
        missing = [f for f in local_files if not Path(f).is_file()]
        if missing:
            raise FileNotFoundError(f"data.hf.local_files: not found: {missing}")
        fmt = "json" if str(local_files[0]).endswith((".jsonl", ".json")) else "parquet"
        return datasets.load_dataset(fmt, data_files=list(local_files), split="train")
    return datasets.load_dataset(spec["name"], spec.get("config"), split=spec.get("split", "train"))


def hf_examples(spec: dict, local_files: list[str], limit: int | None = None) -> Iterator[Example]:
    rows = load_rows(spec, local_files)
    kind = spec.get("kind", "reasoning")
    source = spec["name"].split("/")[-1]
    for i, row in enumerate(rows):
        if limit is not None and i >= limit:
            break
        ex = openr1_example(row, i, source) if kind == "reasoning" else text_example(row, i, source, kind, spec.get("text_column", "text"))
        if ex is not None:
            yield ex


def mix_examples(streams: list[Iterator[Example]], weights: list[float], seed: int = 0) -> Iterator[Example]:
    """Interleave several example streams, drawing each next example by the configured weights.

    Why: a real corpus mixes reasoning traces with general text (e.g. 80/20); drawing per example
    keeps the mix uniform over the token budget rather than front-loading one dataset. A stream
    that runs dry leaves the mix and the remaining weights are renormalised.
    """
    import random

    rng = random.Random(seed)
    live = list(zip(streams, weights))
    while live:
        i = rng.choices(range(len(live)), weights=[w for _, w in live])[0]
        try:
            yield next(live[i][0])
        except StopIteration:
            live.pop(i)
