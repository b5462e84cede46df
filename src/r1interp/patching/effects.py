"""Layer-by-layer residual patching of one validated pair, and the normalised logit difference.

LD = logit(clean answer token) − logit(corrupted answer token) at the decision position.
normalised = (LD_patched − LD_corrupt) / (LD_clean − LD_corrupt): 0 = patching did nothing,
1 = patching restored the clean behaviour. The denominator is > 0 for every validated pair
(the clean token is the clean argmax and the corrupted token the corrupted argmax).

No position set ever contains the *read* position (the decision position whose logits are
compared): patching the residual there copies the clean prediction itself, so the normalised
difference would be ≈ 1 at late layers by construction and say nothing about where the
information travels. For the same reason the headline set leaves out the *edited* tokens: the
edit usually sits in the trace's last restated result ("So 63 + 11 = 74.\n</think>"), inside the
last think tokens, and patching it back at an early layer restores the clean input itself (on
the toy run that alone made the headline ≈ 1 at layers 0–1 on 7 of 10 pairs; without it, 0).
``reasoning_end`` (the last think tokens before the read, edited ones excluded) is the headline
measure; the other sets are sanity checks and every output labels them so (``role``): ``edit``
(the edited tokens alone: the trivial restoration, shown apart), ``answer`` and ``all``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from r1interp.patching.edits import map_position
from r1interp.patching.pairs import Pair
from r1interp.models import residual_cache
from r1interp.patching.residual import PatchJob, logits_at, patched_logit_diffs

POSITION_SETS = ("reasoning_end", "answer", "edit", "all")
HEADLINE_SET = "reasoning_end"
POSITION_ROLES = {name: ("headline" if name == HEADLINE_SET else "sanity_check") for name in POSITION_SETS}
"""``role`` of each position set in effects.parquet, summary.json and the heatmap."""


def position_role(position_set: str) -> str:
    """``headline`` for the measure the analysis reports, ``sanity_check`` for the others."""
    if position_set not in POSITION_ROLES:
        raise ValueError(f"unknown position set {position_set!r}; allowed: {list(POSITION_SETS)}")
    return POSITION_ROLES[position_set]


def normalised_logit_diff(ld_patched, ld_clean: float, ld_corrupt: float):
    """(LD_patched − LD_corrupt) / (LD_clean − LD_corrupt); NaN when the denominator is 0."""
    denom = ld_clean - ld_corrupt
    if denom == 0:
        return np.full_like(np.asarray(ld_patched, dtype=np.float64), np.nan)
    return (np.asarray(ld_patched, dtype=np.float64) - ld_corrupt) / denom


def clean_positions(pair: Pair, position_set: str, n_reasoning: int) -> list[int]:
    """Clean-coordinate positions of a named set (see POSITION_SETS); never the read position.

    - ``reasoning_end``: the last ``n_reasoning`` think tokens (``</think>`` included) before the
      read position — when the decision is read at ``</think>`` itself, the n tokens before it —
      without the edited tokens (:func:`excluded_edit_positions` counts them).
    - ``answer``: the answer tokens after ``</think>`` and before the read position (may be empty),
      without edited tokens.
    - ``edit``: the edited tokens.
    - ``all``: every position before the read position.
    """
    read = pair.decision_pos
    edited = range(pair.edit_lo, pair.edit_hi)
    if position_set == "reasoning_end":
        return [p for p in _reasoning_window(pair, n_reasoning) if p not in edited]
    if position_set == "answer":
        return [p for p in range(pair.think_end + 1, read) if p not in edited]
    if position_set == "edit":
        return [p for p in edited if p < read]
    if position_set == "all":
        return list(range(read))
    raise ValueError(f"unknown position set {position_set!r}; allowed: {list(POSITION_SETS)}")


def _reasoning_window(pair: Pair, n_reasoning: int) -> range:
    end = min(pair.think_end, pair.decision_pos - 1)
    return range(max(0, end - n_reasoning + 1), end + 1)


def excluded_edit_positions(pair: Pair, position_set: str, n_reasoning: int) -> int:
    """How many edited tokens ``position_set``'s window held and left out (recorded per row)."""
    if position_set == "reasoning_end":
        window = _reasoning_window(pair, n_reasoning)
    elif position_set == "answer":
        window = range(pair.think_end + 1, pair.decision_pos)
    else:
        return 0
    return sum(1 for p in window if pair.edit_lo <= p < pair.edit_hi)


def aligned_positions(pair: Pair, positions: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(corrupted positions, clean positions) for the clean positions that have a counterpart."""
    tgt, src = [], []
    for p in positions:
        q = map_position(p, pair.edit_lo, pair.edit_hi, pair.delta)
        if q is not None:
            tgt.append(q)
            src.append(p)
    return tuple(tgt), tuple(src)


@dataclass
class PairEffects:
    ld_clean: float
    ld_corrupt: float
    rows: list[dict]  # one per (layer, position_set)


def pair_effects(
    model: nn.Module,
    pair: Pair,
    layers: list[int],
    position_sets: list[str],
    n_reasoning: int = 4,
    batch_size: int = 16,
) -> PairEffects:
    """Patch the clean residual into the corrupted run one layer at a time, per position set."""
    a, b = pair.clean_token, pair.corrupt_token
    ld_clean = _ld(logits_at(model, pair.clean_ids, [pair.decision_pos])[0], a, b)
    read = pair.decision_pos + pair.delta
    ld_corrupt = _ld(logits_at(model, pair.corrupt_ids, [read])[0], a, b)
    cache = residual_cache(model, pair.clean_ids, layers)
    jobs, meta = [], []
    for name in position_sets:
        tgt, src = aligned_positions(pair, clean_positions(pair, name, n_reasoning))
        if read in tgt or pair.decision_pos in src:
            raise ValueError(f"pair {pair.pair_id}: position set {name!r} contains the read position {pair.decision_pos}")
        for layer in layers:
            jobs.append(PatchJob(layer, tgt, src))
            meta.append((layer, name, len(tgt), excluded_edit_positions(pair, name, n_reasoning)))
    lds = patched_logit_diffs(model, pair.corrupt_ids, cache, layers, jobs, read, a, b, batch_size).cpu().numpy()
    norm = normalised_logit_diff(lds, ld_clean, ld_corrupt)
    rows = [
        {
            "pair_id": pair.pair_id,
            "layer": layer,
            "position_set": name,
            "role": position_role(name),
            "norm_logit_diff": float(norm[i]) if n_pos else float("nan"),
            "logit_diff": float(lds[i]),
            "n_positions": n_pos,
            "n_edited_left_out": n_out,
        }
        for i, (layer, name, n_pos, n_out) in enumerate(meta)
    ]
    return PairEffects(ld_clean, ld_corrupt, rows)


def _ld(logits, a: int, b: int) -> float:
    return float(logits[a] - logits[b])
