"""The graph plan of one model: which graphs to build, on which tokens, at which positions.

``results/{model}/graphs/plan.parquet``, one row per graph (or per prompt that gets none):
``prompt_id, sample, category, needs_reasoning, expected, correct, status, graph_id, phase,
position, rule, n_prompt_tokens, target_token_id, target_token, input_ids (list<int>, the whole
prompt+output sequence as this model reads it), generation (own | teacher_forced:{reasoner}), reason``. ``reason`` is "" for a graph to
build, else why there is none (an unfinished trace, a context too long, no decision token).

Why a plan file: a reasoner and its base are compared graph by graph, so both must explain the
same token at the same position of the same sequence. Positions are chosen once, on the
reasoner's own generation (:mod:`.phases`); the base's plan is the same rows *teacher-forced*:
the reasoner's sequence read through the pair's token map (:mod:`r1interp.data.tokenmap`), so the
base's graphs explain the base's prediction of the reasoner's token at the reasoner's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from r1interp.artifacts.tables import read_table
from r1interp.graphs.phases import GenerationSpan, check_context, graph_id, plan_targets

PLAN_COLUMNS = [
    "prompt_id", "sample", "category", "needs_reasoning", "expected", "correct", "status", "graph_id", "phase", "position",
    "rule", "n_prompt_tokens", "target_token_id", "target_token", "input_ids", "generation", "reason",
]
GENERATION_COLUMNS = (
    "prompt_id", "category", "needs_reasoning", "expected", "prompt_ids", "output_ids", "think_start", "think_end", "correct",
)


def generation_status(row) -> str:
    """correct | incorrect | unfinished (a trace that never closed is not wrong, only unfinished)."""
    status = row.get("status") if hasattr(row, "get") else None
    if isinstance(status, str) and status:
        return status
    if int(row["think_start"]) >= 0 and int(row["think_end"]) < 0:
        return "unfinished"
    return "correct" if bool(row["correct"]) else "incorrect"


def first_samples(gens: pd.DataFrame) -> pd.DataFrame:
    """One generation per prompt: sample 0 when several samples were drawn."""
    if "sample" in gens.columns:
        gens = gens[gens["sample"] == gens.groupby("prompt_id")["sample"].transform("min")]
    return gens.drop_duplicates("prompt_id", keep="first")


def plan_rows(row, tokenizer, think_rules: Sequence[str], think_count: int, max_context: int, generation: str) -> list[dict]:
    """Plan rows of one generation (targets found on ``tokenizer``'s token texts)."""
    prompt_ids = [int(t) for t in row["prompt_ids"]]
    ids = prompt_ids + [int(t) for t in row["output_ids"]]
    n_prompt = len(prompt_ids)
    eos = tokenizer.eos_token_id
    eos_at = next((i for i in range(n_prompt, len(ids)) if ids[i] == eos), -1)
    span = GenerationSpan(n_prompt, int(row["think_start"]), int(row["think_end"]), len(ids), eos_at)
    pieces = [tokenizer.decode([t]) for t in ids]
    targets, why = plan_targets(pieces, span, str(row["expected"]), think_rules, think_count)
    base = {
        "prompt_id": str(row["prompt_id"]), "sample": int(row["sample"]) if "sample" in row else 0,
        "category": str(row["category"]), "needs_reasoning": bool(row["needs_reasoning"]), "expected": str(row["expected"]),
        "correct": bool(row["correct"]), "status": generation_status(row), "n_prompt_tokens": n_prompt, "input_ids": ids,
        "generation": generation,
    }
    none = {"graph_id": "", "position": -1, "rule": "", "target_token_id": -1, "target_token": ""}
    if not targets:
        return [{**base, **none, "phase": "", "reason": why}]
    # a phase with no graph gets its row and reason, so the index lists it as not built
    found = {t.phase for t in targets}
    out = []
    if think_count > 0 and span.think_start >= 0 and "think" not in found:
        out.append({**base, **none, "phase": "think", "reason": "no think graph: no intermediate result or step start in the trace"})
    if "answer" not in found:
        out.append({**base, **none, "phase": "answer", "reason": why or "no answer graph"})
    for t in targets:
        target = ids[t.position]
        out.append({
            **base, "graph_id": graph_id(base["prompt_id"], t.phase, t.position), "phase": t.phase, "position": t.position,
            "rule": t.rule, "target_token_id": target, "target_token": pieces[t.position],
            "reason": check_context(base["prompt_id"], t.position, t.phase, max_context),
        })
    return out


def make_plan(gens: pd.DataFrame, tokenizer, think_rules: Sequence[str], think_count: int, max_context: int, generation: str) -> pd.DataFrame:
    """The plan of a model on its own generations (``generation`` names them: "own")."""
    rows = [r for _, g in first_samples(gens).iterrows() for r in plan_rows(g, tokenizer, think_rules, think_count, max_context, generation)]
    return pd.DataFrame(rows, columns=PLAN_COLUMNS)


def teacher_forced_plan(plan: pd.DataFrame, token_map, tokenizer, generation: str) -> pd.DataFrame:
    """The base's plan: the reasoner's rows, each sequence read through ``token_map``; same positions."""
    out = plan.copy()
    out["input_ids"] = [token_map.apply(ids).astype(int).tolist() for ids in plan["input_ids"]]
    out["target_token_id"] = [ids[p] if p >= 0 else -1 for ids, p in zip(out["input_ids"], out["position"])]
    out["target_token"] = [tokenizer.decode([t]) if t >= 0 else "" for t in out["target_token_id"]]
    out["generation"] = generation
    return out[PLAN_COLUMNS]


def read_plan(path: str | Path, prompt_id: str | None = None) -> pd.DataFrame:
    """The plan table (optionally one prompt's rows); fails naming the file or prompt."""
    return read_table(path, PLAN_COLUMNS, "graph plan", None if prompt_id is None else {"prompt_id": prompt_id})
