"""Which examples the explainer sees and which the judges score (pure, seeded).

Why held-out scoring examples: delphi scores an explanation on contexts the explainer did not
see, sampled across activation quantiles, so a label that only fits the strongest examples
scores lower. Negatives (contexts where the feature is silent) are the detection decoys.
Fuzzing decoys mark random tokens of activating contexts, as many as the true marking has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inputs import Example

TASKS = ("explain", "detection", "fuzzing")


def rng_for(seed: int, layer: int, feature: int, task: str) -> np.random.Generator:
    """One independent, reproducible stream per (layer, feature, task): a restarted run rebuilds
    exactly the same prompts, so journaled answers still line up with their samples."""
    return np.random.default_rng([seed, layer, feature, TASKS.index(task)])


def active_marks(acts: tuple[float, ...], threshold: float) -> tuple[int, ...]:
    """Token indices to highlight: activation > 0 and > ``threshold`` × the window's max."""
    if not acts:
        return ()
    cut = max(0.0, threshold * max(acts))
    return tuple(i for i, a in enumerate(acts) if a > cut and a > 0)


@dataclass(frozen=True)
class Split:
    explain: list[Example]  # shown to the explainer: top examples first, then quantile samples
    activating: list[Example]  # pool for the judges (held out when possible)
    negatives: list[Example]
    held_out: bool  # False when the pool had to reuse explanation examples


def split_examples(
    examples: list[Example], n_examples: int, top_fraction: float, rng: np.random.Generator
) -> Split:
    examples = _dedupe(examples)
    tops = [e for e in examples if e.kind == "top" and e.max_act > 0]
    quants = [e for e in examples if e.kind == "quantile" and e.max_act > 0]
    negs = [e for e in examples if e.kind == "negative" or e.max_act <= 0]
    n_top = min(len(tops), int(round(n_examples * top_fraction)))
    n_q = min(len(quants), n_examples - n_top)
    n_top = min(len(tops), n_examples - n_q)  # fill from tops when quantiles run short
    shown_q = _spread_over_bins(quants, n_q, rng)
    explain = tops[:n_top] + sorted(shown_q, key=lambda e: (-e.quantile_bin, e.rank))
    shown = {id(e) for e in explain}
    pool = [e for e in quants + tops if id(e) not in shown]
    held_out = bool(pool)
    if not pool:
        pool = list(explain)
    return Split(explain=explain, activating=pool, negatives=negs, held_out=held_out)


def _dedupe(examples: list[Example]) -> list[Example]:
    """Drop repeated windows (same document span): a duplicate would be shown twice or leak an
    explanation example into the held-out pool. The copy kept is the top example's where the
    window is one (a strongest window that is also a quantile sample stays among the strongest,
    shown first), else the first. Returned with the top examples first, each kind in its order."""
    seen: set[tuple[int, int, int]] = set()
    out = []
    for e in sorted(examples, key=lambda e: e.kind != "top"):  # stable: tops first, each kind in its order
        k = (e.doc_id, e.start, len(e.tokens))
        if k not in seen:
            seen.add(k)
            out.append(e)
    return out


def _spread_over_bins(quants: list[Example], n: int, rng: np.random.Generator) -> list[Example]:
    """Round-robin over quantile bins (random order within a bin), so weak and strong
    activations are both represented."""
    bins: dict[int, list[Example]] = {}
    for e in quants:
        bins.setdefault(e.quantile_bin, []).append(e)
    queues = {b: [v[i] for i in rng.permutation(len(v))] for b, v in sorted(bins.items())}
    out: list[Example] = []
    while len(out) < n and any(queues.values()):
        for b in sorted(queues, reverse=True):
            if queues[b] and len(out) < n:
                out.append(queues[b].pop(0))
    return out


@dataclass(frozen=True)
class Sample:
    """One context shown to a judge; ``truth`` is 1 for activating / correctly marked."""

    example: Example
    marked: tuple[int, ...]
    truth: int


def _take(pool: list[Example], n: int, rng: np.random.Generator) -> list[Example]:
    if not pool or n <= 0:
        return []
    idx = rng.permutation(len(pool))[: min(n, len(pool))]
    return [pool[i] for i in idx]


def detection_samples(split: Split, n: int, rng: np.random.Generator) -> list[Sample]:
    """Half activating, half silent contexts (unmarked), shuffled; [] when either class is missing."""
    n_pos = n // 2
    pos = _take(split.activating, n_pos, rng)
    neg = _take(split.negatives, n - n_pos, rng)
    if not pos or not neg:
        return []
    samples = [Sample(e, (), 1) for e in pos] + [Sample(e, (), 0) for e in neg]
    return [samples[i] for i in rng.permutation(len(samples))]


def fuzzing_samples(split: Split, n: int, threshold: float, rng: np.random.Generator) -> list[Sample]:
    """Activating contexts with the true marks (truth 1) or the same number of marks on random
    other tokens (truth 0), shuffled; [] when either class cannot be built."""
    chosen = _take(split.activating, n, rng)
    if len(chosen) < 2:
        chosen = chosen * 2  # one context can serve both classes when the pool is tiny
    n_true = len(chosen) // 2
    samples: list[Sample] = []
    for j, e in enumerate(chosen):
        true = active_marks(e.acts, threshold)
        if j < n_true:
            samples.append(Sample(e, true, 1))
            continue
        others = [i for i in range(len(e.acts)) if i not in set(true)]
        if not others or not true:
            continue
        k = min(len(true), len(others))
        fake = tuple(sorted(int(i) for i in rng.choice(others, size=k, replace=False)))
        samples.append(Sample(e, fake, 0))
    if not any(s.truth == 0 for s in samples) or not any(s.truth == 1 for s in samples):
        return []
    return [samples[i] for i in rng.permutation(len(samples))]


def balanced_accuracy(truth: list[int], pred: list[int]) -> float | None:
    """Mean of the true-positive and true-negative rates (delphi's metric without logprobs);
    None when a class is absent."""
    if len(truth) != len(pred):
        raise ValueError(f"balanced_accuracy: {len(truth)} truths vs {len(pred)} predictions")
    t, p = np.asarray(truth, dtype=int), np.asarray(pred, dtype=int)
    n_pos, n_neg = int((t == 1).sum()), int((t == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    tpr = float(((p == 1) & (t == 1)).sum()) / n_pos
    tnr = float(((p == 0) & (t == 0)).sum()) / n_neg
    return 0.5 * (tpr + tnr)
