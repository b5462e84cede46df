"""Greedy generations for a prompt set, with segments and correctness.

Why one shared table: graphs (think/answer positions), reasoning-focus heads and patching all need
the model's *own* continuation, and correct-vs-incorrect grouping needs it scored once.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import torch

from r1interp.data.render import THINK_CLOSE, THINK_OPEN, render_prompt, tokenize_with_segments
from r1interp.data.segments import ANSWER, OTHER, PROMPT, THINK
from r1interp.prompts.checker import check_answer
from r1interp.prompts.sets import Prompt

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


@torch.no_grad()
def generate_all(model, tokenizer, prompts: list[Prompt], template: str, instruction: str | None, max_new_tokens: int) -> pd.DataFrame:
    from tqdm import tqdm

    device = next(model.parameters()).device
    think_open = tokenizer.convert_tokens_to_ids(THINK_OPEN)
    think_close = tokenizer.convert_tokens_to_ids(THINK_CLOSE)
    unk = tokenizer.unk_token_id
    think_open = None if think_open in (None, unk) else think_open
    think_close = None if think_close in (None, unk) else think_close
    rows = []
    for p in tqdm(prompts, desc="generate", mininterval=2.0):
        ids, segs = prompt_ids_and_segments(tokenizer, p, template, instruction)
        out = model.generate(
            torch.as_tensor(ids, dtype=torch.long, device=device)[None], attention_mask=torch.ones(1, len(ids), dtype=torch.long, device=device),
            max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
        )[0, len(ids):].tolist()
        full = list(map(int, ids)) + out
        in_think = template == "r1" and think_open is not None and think_open in ids.tolist()
        seg_out = output_segments(out, think_close, in_think, tokenizer.eos_token_id)
        think_start = full.index(think_open) if think_open is not None and think_open in full else -1
        think_end = full.index(think_close, len(ids)) if think_close is not None and think_close in out else -1
        answer_ids = out[think_end - len(ids) + 1 :] if think_end >= 0 else (out if template != "r1" else [])
        answer_text = tokenizer.decode(answer_ids, skip_special_tokens=True)
        rows.append({
            "prompt_id": p.id, "category": p.category, "needs_reasoning": p.needs_reasoning, "expected": p.expected,
            "check": p.check, "prompt_ids": list(map(int, ids)), "output_ids": out,
            "segment": np.concatenate([segs, seg_out]).astype(np.int8).tolist(),
            "think_start": think_start, "think_end": think_end,
            "output_text": tokenizer.decode(out, skip_special_tokens=False),
            "answer_text": answer_text, "correct": bool(check_answer(answer_text, p.expected, p.check)),
        })
        log.info("%s: correct=%s answer=%r", p.id, rows[-1]["correct"], answer_text[:80])
    return pd.DataFrame(rows)


class GenerationsFileError(ValueError):
    """The generations table is missing or malformed; the message names the file and column."""


def read_generations(path, columns: tuple[str, ...]) -> pd.DataFrame:
    """Read ``generations.parquet`` and check it has ``columns`` (the one reader for all stages)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise GenerationsFileError(f"generations file not found: {path}")
    df = pd.read_parquet(path)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise GenerationsFileError(f"{path} lacks columns {missing} (has {list(df.columns)})")
    return df
