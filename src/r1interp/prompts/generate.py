"""Generations for a prompt set (greedy or seeded samples), with segments and correctness.

Why one shared table: graphs (think/answer positions), reasoning-focus heads and patching all need
the model's *own* continuation, and correct-vs-incorrect grouping needs it scored once.

``generations.parquet``: one row per (prompt, sample); ``sample`` is 0..n_samples-1 (0 for greedy).
``status`` is ``correct`` | ``incorrect`` | ``unfinished`` (:func:`r1interp.prompts.checker.answer_status`);
``correct`` is kept for older readers and means ``status == "correct"``. ``finished`` says the
sample ended (end-of-sequence) within ``max_new_tokens``; ``extracted`` is the answer the checker read.
``correctness.parquet`` (:func:`correctness_table`): per prompt, counts per status and rates.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from r1interp.artifacts.segments import ANSWER, OTHER, PROMPT, THINK
from r1interp.core.prompt_sets import Prompt
from r1interp.core.render import THINK_CLOSE, THINK_OPEN, render_prompt, tokenize_with_segments
from r1interp.prompts.checker import STATUSES, answer_status, extract_answer
from r1interp.prompts.settings import GenerationSettings, batch_seed

log = logging.getLogger(__name__)


def prompt_ids_and_segments(tokenizer, prompt: Prompt, template: str, instruction: str | None) -> tuple[np.ndarray, np.ndarray]:
    text = render_prompt(tokenizer, prompt.text, template, instruction)
    chars = np.full(len(text), OTHER, dtype=np.int8)
    content_start = text.find(prompt.text)
    chars[content_start : content_start + len(prompt.text)] = PROMPT
    think_at = text.rfind(THINK_OPEN)
    if template == "r1" and think_at >= 0:
        chars[think_at:] = THINK
    return tokenize_with_segments(tokenizer, text, chars)


def output_segments(output_ids: list[int], think_close_id: int | None, in_think: bool, eos_id: int | None) -> np.ndarray:
    """Segment codes of generated tokens: THINK through ``</think>``, ANSWER after, OTHER for EOS."""
    segs = np.empty(len(output_ids), dtype=np.int8)
    for i, t in enumerate(output_ids):
        if t == eos_id:
            segs[i] = OTHER
        elif in_think:
            segs[i] = THINK
            if t == think_close_id:
                in_think = False
        else:
            segs[i] = ANSWER
    return segs


def eos_ids(model, tokenizer) -> set[int]:
    """Token ids that end a generation: the tokenizer's EOS and the model's generation-config EOS."""
    ids = {tokenizer.eos_token_id}
    cfg_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(cfg_eos if isinstance(cfg_eos, (list, tuple)) else [cfg_eos])
    return {int(i) for i in ids if i is not None}


def trim_at_eos(out: list[int], stop: set[int]) -> tuple[list[int], bool]:
    """``out`` through its first end token (padding of a batch after it dropped); finished flag."""
    for i, t in enumerate(out):
        if t in stop:
            return out[: i + 1], True
    return out, False


@torch.no_grad()
def generate_all(model, tokenizer, prompts: list[Prompt], template: str, instruction: str | None,
                 settings: GenerationSettings | int = GenerationSettings()) -> pd.DataFrame:
    """One row per (prompt, sample); ``settings`` may be a plain ``max_new_tokens`` (greedy)."""
    from tqdm import tqdm

    if isinstance(settings, int):
        settings = GenerationSettings(max_new_tokens=settings)
    device = next(model.parameters()).device
    think_open = tokenizer.convert_tokens_to_ids(THINK_OPEN)
    think_close = tokenizer.convert_tokens_to_ids(THINK_CLOSE)
    unk = tokenizer.unk_token_id
    think_open = None if think_open in (None, unk) else think_open
    think_close = None if think_close in (None, unk) else think_close
    stop = eos_ids(model, tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    rows = []
    for p in tqdm(prompts, desc="generate", mininterval=2.0):
        ids, segs = prompt_ids_and_segments(tokenizer, p, template, instruction)
        prompt = torch.as_tensor(ids, dtype=torch.long, device=device)[None]
        for first in range(0, settings.n_samples, settings.batch_size):
            n = min(settings.batch_size, settings.n_samples - first)
            if not settings.greedy:
                torch.manual_seed(batch_seed(settings.seed, p.id, first))
            outs = model.generate(
                prompt.expand(n, -1), attention_mask=torch.ones(n, len(ids), dtype=torch.long, device=device),
                max_new_tokens=settings.max_new_tokens, pad_token_id=pad, **settings.generate_kwargs(),
            )[:, len(ids):].tolist()
            for j, raw in enumerate(outs):
                out, finished = trim_at_eos(raw, stop)
                rows.append(_row(p, first + j, ids, segs, out, finished, template, think_open, think_close, tokenizer))
                log.info("%s sample %d: %s answer=%r", p.id, first + j, rows[-1]["status"], rows[-1]["answer_text"][:80])
    return pd.DataFrame(rows)


def _row(p: Prompt, sample: int, ids: np.ndarray, segs: np.ndarray, out: list[int], finished: bool, template: str,
         think_open: int | None, think_close: int | None, tokenizer) -> dict:
    full = list(map(int, ids)) + out
    opened = template == "r1" and think_open is not None and think_open in ids.tolist()
    seg_out = output_segments(out, think_close, opened, tokenizer.eos_token_id)
    think_start = full.index(think_open) if think_open is not None and think_open in full else -1
    think_end = full.index(think_close, len(ids)) if think_close is not None and think_close in out else -1
    answer_ids = out[think_end - len(ids) + 1 :] if think_end >= 0 else (out if template != "r1" else [])
    answer_text = tokenizer.decode(answer_ids, skip_special_tokens=True)
    think_closed = think_end >= 0 or not opened
    status = answer_status(answer_text, p.expected, p.check, finished=finished, think_closed=think_closed)
    return {
        "prompt_id": p.id, "sample": sample, "category": p.category, "needs_reasoning": p.needs_reasoning,
        "expected": p.expected, "check": p.check, "prompt_ids": list(map(int, ids)), "output_ids": out,
        "segment": np.concatenate([segs, seg_out]).astype(np.int8).tolist(),
        "think_start": think_start, "think_end": think_end,
        "output_text": tokenizer.decode(out, skip_special_tokens=False),
        "answer_text": answer_text, "extracted": extract_answer(answer_text, p.check) if think_closed else None,
        "finished": finished, "status": status, "correct": status == "correct",
    }


CORRECTNESS_COLUMNS = ["prompt_id", "category", "needs_reasoning", "n_samples", *(f"n_{s}" for s in STATUSES),
                       "correct_rate", "scored_correct_rate"]


def correctness_table(gens: pd.DataFrame) -> pd.DataFrame:
    """Per prompt: samples, counts per status, ``correct_rate`` = correct / samples and
    ``scored_correct_rate`` = correct / (correct + incorrect) (NaN when every sample is unfinished)."""
    rows = []
    for pid, g in gens.groupby("prompt_id", sort=False):
        counts = {f"n_{s}": int((g["status"] == s).sum()) for s in STATUSES}
        scored = counts["n_correct"] + counts["n_incorrect"]
        rows.append({
            "prompt_id": pid, "category": g["category"].iloc[0], "needs_reasoning": bool(g["needs_reasoning"].iloc[0]),
            "n_samples": len(g), **counts, "correct_rate": counts["n_correct"] / len(g),
            "scored_correct_rate": counts["n_correct"] / scored if scored else float("nan"),
        })
    return pd.DataFrame(rows, columns=CORRECTNESS_COLUMNS)
