"""Where conversations come from: the toy corpus or Hugging Face datasets (OpenR1-Math-220k style).

Why a local-file path too: real runs read the hub datasets through ``datasets`` (from the local
cache on offline clusters); the same parsing is exercised in tests on a small local fixture with
the same columns, so the real code path is tested without network.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

from r1interp.core.render import THINK_CLOSE, THINK_OPEN, Example
from r1interp.core.toy_corpus import read_corpus

log = logging.getLogger(__name__)


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


def _picked(generations: list, verdicts: list[list]) -> str | None:
    """The first generation some verifier judged correct and whose trace closed, else None."""
    for i, g in enumerate(generations):
        ok = any(bool(v[i]) for v in verdicts if v is not None and i < len(v))
        if ok and isinstance(g, str) and THINK_CLOSE in g:
            return g
    return None


def openr1_example(row: dict, index: int, source: str) -> Example | None:
    """One OpenR1-Math-220k row → Example: its first generation that a verifier judged correct
    (``correctness_math_verify`` or ``correctness_llama``) and whose ``</think>`` closed; a row
    without one is skipped (None), never replaced by a wrong or unfinished trace. Rows without
    generations fall back to the reference ``solution`` as an answer without a trace."""
    generations = list(row.get("generations") or [])
    if generations:
        verdicts = [row.get("correctness_math_verify"), row.get("correctness_llama")]
        if all(v is None for v in verdicts):
            verdicts = [[True] * len(generations)]  # a corpus without verdicts: every trace counts
        complete = row.get("is_reasoning_complete")
        if complete is not None:
            verdicts = [[bool(ok) and bool(c) for ok, c in zip(v, complete)] if v is not None else None for v in verdicts]
        chosen = _picked(generations, verdicts)
        if chosen is None:
            return None
        think, answer = split_trace(chosen)
    elif row.get("solution"):
        think, answer = None, str(row["solution"])
    else:
        return None
    return Example(id=f"{source}-{row.get('uuid', index)}", kind="reasoning", question=str(row["problem"]), think=think, answer=answer)


def text_example(row: dict, index: int, source: str, kind: str, column: str) -> Example | None:
    text = row.get(column)
    if not text:
        return None
    return Example(id=f"{source}-{index}", kind=kind, question="", think=None, answer=str(text))


SHUFFLE_BUFFER = 10_000  # rows: a streamed dataset is read in a seeded shuffled order, not file order


def hub_dataset_files(name: str, config: str | None, split: str) -> list[str]:
    """A hub dataset's files of ``config``/``split`` from the local HF cache (``huggingface-cli
    download <name> --repo-type dataset``), read from its card's ``configs:`` block; [] if not cached.

    Why: ``datasets.load_dataset(name)`` needs the Hub (or a copy ``datasets`` built itself) and
    never reads those downloaded files, so an offline cluster could not load its corpus."""
    import yaml
    from huggingface_hub import snapshot_download

    try:
        root = Path(snapshot_download(name, repo_type="dataset", local_files_only=True))
    except Exception:  # noqa: BLE001 - not in the cache (the hub raises several types)
        return []
    patterns: list[str] = []
    card = (root / "README.md").read_text() if (root / "README.md").is_file() else ""
    if card.startswith("---"):
        meta = yaml.safe_load(card.split("---", 2)[1]) or {}
        for entry in meta.get("configs") or []:
            if entry.get("config_name", "default") != (config or "default"):
                continue
            data_files = entry.get("data_files")
            if isinstance(data_files, str):
                patterns.append(data_files)
            for df in data_files if isinstance(data_files, list) else []:
                if isinstance(df, dict) and df.get("split", "train") == split:
                    patterns += df["path"] if isinstance(df["path"], list) else [df["path"]]
    return sorted({str(f) for pat in patterns for f in root.glob(pat) if f.is_file()})


def _file_format(files: list[str]) -> str:
    return "json" if str(files[0]).endswith((".jsonl", ".json", ".jsonl.gz")) else "parquet"


def load_rows(spec: dict, local_files: list[str], seed: int = 0):
    """Rows of one dataset spec, streamed in a seeded shuffled order: the given local files, else
    the dataset's files in the local HF cache, else the Hub. Streaming reads only what the token
    budget takes (a 10B-token sample is not downloaded and converted to use 0.1% of it)."""
    import datasets

    if local_files:
        missing = [f for f in local_files if not Path(f).is_file()]
        if missing:
            raise FileNotFoundError(f"data.hf.local_files: not found: {missing}")
        files = list(local_files)
    else:
        files = hub_dataset_files(spec["name"], spec.get("config"), spec.get("split", "train"))
    if files:
        rows = datasets.load_dataset(_file_format(files), data_files=files, split="train", streaming=True)
    else:
        rows = datasets.load_dataset(spec["name"], spec.get("config"), split=spec.get("split", "train"), streaming=True)
    return rows.shuffle(seed=seed, buffer_size=SHUFFLE_BUFFER)


def hf_examples(spec: dict, local_files: list[str], limit: int | None = None, seed: int = 0) -> Iterator[Example]:
    """Examples of one dataset spec; rows that give none (no verified, finished trace; no text)
    are skipped and counted in the log."""
    rows = load_rows(spec, local_files, seed)
    kind = spec.get("kind", "reasoning")
    source = spec["name"].split("/")[-1]
    skipped = 0
    try:
        for i, row in enumerate(rows):
            if limit is not None and i >= limit:
                break
            ex = openr1_example(row, i, source) if kind == "reasoning" else text_example(row, i, source, kind, spec.get("text_column", "text"))
            if ex is None:
                skipped += 1
                continue
            yield ex
    finally:
        log.info("%s: %d rows skipped (no verified, finished trace or no text)", spec["name"], skipped)


def text_size(ex: Example) -> int:
    """Characters of an example's text: the mix's measure of how much of the stream it fills (~tokens)."""
    return len(ex.question) + len(ex.think or "") + len(ex.answer)


def mix_examples(streams: list[Iterator[Example]], weights: list[float], seed: int = 0) -> Iterator[Example]:
    """Interleave example streams so that each one's share of the *text* follows its weight.

    Why text and not examples: a reasoning trace is ~4,500 tokens and a web page ~1,000, so an
    80/20 draw per example gave ~95/5 of the tokens the transcoders train on. The next example comes
    from the stream furthest below its share of the characters so far (characters stand in for
    tokens: the tokenizer runs later, on the rendered chat), so the shares hold at every prefix of
    the token budget. A stream that runs dry leaves the mix and the others share the rest. ``seed``
    breaks ties between streams equally far below their shares.
    """
    import random

    rng = random.Random(seed)
    live = [[stream, float(w), 0] for stream, w in zip(streams, weights) if float(w) > 0]
    total = 0
    while live:
        weight_sum = sum(w for _, w, _ in live)
        deficit = [w / weight_sum * total - size for _, w, size in live]
        best = max(deficit)
        i = rng.choice([j for j, d in enumerate(deficit) if d == best])
        try:
            ex = next(live[i][0])
        except StopIteration:
            live.pop(i)
            continue
        n = text_size(ex)
        live[i][2] += n
        total += n
        yield ex
