"""Qualitative check: greedy generations of the original vs the replacement model, side by side.

Why: aggregate CE/KL can hide a replacement model that degenerates over many steps (repetition,
never closing ``</think>``); reading a few continuations catches that at a glance.
"""

from __future__ import annotations

import torch
from torch import nn

from r1interp.artifacts.segments import ANSWER, THINK
from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.core.hooks import replace_mlps


def prompt_prefixes(docs: list[dict], n_prompts: int) -> list[dict]:
    """Prompt part of the first documents (one per ``kind`` first): tokens before the first
    think/answer token, i.e. up to and including the assistant-turn opener."""
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    ordered: list[dict] = []
    while len(ordered) < len(docs) and any(by_kind.values()):
        for kind in list(by_kind):
            if by_kind[kind]:
                ordered.append(by_kind[kind].pop(0))
    out = []
    for d in ordered[:n_prompts]:
        seg = d["segment"]
        cut = next((i for i, s in enumerate(seg) if s in (THINK, ANSWER)), max(1, len(seg) // 2))
        out.append({"doc_id": d["doc_id"], "kind": d["kind"], "prompt_ids": d["input_ids"][: max(cut, 1)]})
    return out


@torch.no_grad()
def greedy(model: nn.Module, prompt_ids: list[int], max_new_tokens: int, eos_token_id: int | None) -> list[int]:
    dev = next(model.parameters()).device
    ids = torch.tensor([prompt_ids], device=dev)
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=eos_token_id,
        pad_token_id=eos_token_id if eos_token_id is not None else 0,
    )
    return out[0, len(prompt_ids) :].tolist()


def side_by_side(
    model: nn.Module, tokenizer, transcoders: dict[int, SkipTranscoder], prompts: list[dict], max_new_tokens: int
) -> list[dict]:
    """Generate from each prompt with the original and with all MLPs replaced."""
    rows = []
    for p in prompts:
        orig = greedy(model, p["prompt_ids"], max_new_tokens, tokenizer.eos_token_id)
        with replace_mlps(model, transcoders):
            rep = greedy(model, p["prompt_ids"], max_new_tokens, tokenizer.eos_token_id)
        n_same = next((i for i, (a, b) in enumerate(zip(orig, rep)) if a != b), min(len(orig), len(rep)))
        rows.append(
            {
                **p,
                "original": tokenizer.decode(orig),
                "replacement": tokenizer.decode(rep),
                "prompt": tokenizer.decode(p["prompt_ids"]),
                "identical_prefix_tokens": n_same,
                "n_original_tokens": len(orig),
            }
        )
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", "").replace("\n", "⏎")


def generations_markdown(model_name: str, rows: list[dict]) -> str:
    lines = [
        f"# Greedy generations: {model_name}, original vs all-layers replacement",
        "",
        "Newlines are shown as ⏎. *same prefix* = generated tokens identical before the first divergence.",
        "",
        "| doc | kind | prompt (tail) | original | replacement | same prefix |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        tail = r["prompt"][-80:]
        lines.append(
            f"| {r['doc_id']} | {r['kind']} | {_cell(tail)} | {_cell(r['original'])} | {_cell(r['replacement'])} "
            f"| {r['identical_prefix_tokens']}/{r['n_original_tokens']} |"
        )
    return "\n".join(lines) + "\n"
