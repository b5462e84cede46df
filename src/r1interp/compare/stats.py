"""Per-motif tests on significance profiles, with Benjamini–Hochberg FDR control.

Why these tests: the same prompt is run through the reasoning model and its base (and through
the ``<think>`` and answer phases), so those comparisons are **paired** — Wilcoxon signed-rank on
per-prompt SP differences; circuit-motifs used unpaired tests and no multiple-comparison
correction. Correct vs incorrect prompts are different prompts *and* different categories, so
that one is compared within category (a stratified permutation test). Every family of per-motif
p-values is corrected with BH.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

TEST_COLUMNS = ["statistic", "p_value", "q_value", "significant"]


def benjamini_hochberg(p: np.ndarray | list[float]) -> np.ndarray:
    """BH adjusted p-values (q); NaN p-values stay NaN and do not count towards m."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return q
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]  # enforce monotonicity from the top
    q[order] = np.minimum(ranked, 1.0)
    return q


def wilcoxon_paired(x: np.ndarray, y: np.ndarray, min_pairs: int = 3) -> tuple[float, float]:
    """``(statistic, p)`` of a two-sided Wilcoxon signed-rank test on pairs ``x - y``.

    Fewer than ``min_pairs`` finite pairs: NaN (not tested). All differences zero: ``(0, 1)``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    d = x[ok] - y[ok]
    if d.size < min_pairs:
        return np.nan, np.nan
    if np.all(d == 0):
        return 0.0, 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def mannwhitney(x: np.ndarray, y: np.ndarray, min_n: int = 2) -> tuple[float, float]:
    """``(U, p)`` two-sided Mann–Whitney U; NaN when a group has fewer than ``min_n`` values."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size < min_n or y.size < min_n:
        return np.nan, np.nan
    if np.ptp(np.concatenate([x, y])) == 0:
        return float(x.size * y.size / 2), 1.0
    res = stats.mannwhitneyu(x, y, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def kruskal(groups: list[np.ndarray]) -> tuple[float, float]:
    """``(H, p)`` Kruskal–Wallis across groups (NaN with fewer than 2 non-empty groups)."""
    groups = [np.asarray(g, np.float64)[np.isfinite(g)] for g in groups]
    groups = [g for g in groups if g.size]
    if len(groups) < 2:
        return np.nan, np.nan
    if np.ptp(np.concatenate(groups)) == 0:
        return 0.0, 1.0
    res = stats.kruskal(*groups)
    return float(res.statistic), float(res.pvalue)


def add_fdr(df: pd.DataFrame, by: list[str], alpha: float) -> pd.DataFrame:
    """``q_value`` (BH within each ``by`` group) and ``significant = q < alpha``."""
    df = df.copy()
    df["q_value"] = np.nan
    if len(df):
        for _, idx in df.groupby(by, dropna=False).groups.items():
            df.loc[idx, "q_value"] = benjamini_hochberg(df.loc[idx, "p_value"].to_numpy())
    df["significant"] = (df["q_value"] < alpha).fillna(False).astype(bool)
    return df


def paired_motif_tests(a: pd.DataFrame, b: pd.DataFrame, on: list[str], by: list[str], value: str = "sp", min_pairs: int = 3, suffixes: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Per ``by`` group (e.g. family, motif): Wilcoxon on ``a[value] - b[value]`` paired by ``on``."""
    sa, sb = suffixes
    m = a[on + by + [value]].merge(b[on + by + [value]], on=on + by, suffixes=(f"_{sa}", f"_{sb}"))
    rows = []
    for key, grp in m.groupby(by, sort=True):
        xa, xb = grp[f"{value}_{sa}"].to_numpy(), grp[f"{value}_{sb}"].to_numpy()
        if not (np.isfinite(xa).any() and np.isfinite(xb).any()):
            continue
        stat, p = wilcoxon_paired(xa, xb, min_pairs)
        d = xa - xb
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "n_pairs": int(np.isfinite(d).sum()),
                     f"mean_{value}_{sa}": float(np.nanmean(xa)), f"mean_{value}_{sb}": float(np.nanmean(xb)),
                     "median_diff": float(np.nanmedian(d)) if np.isfinite(d).any() else np.nan, "statistic": stat, "p_value": p})
    return pd.DataFrame(rows)


def unpaired_motif_tests(a: pd.DataFrame, b: pd.DataFrame, by: list[str], value: str = "sp", min_n: int = 2, suffixes: tuple[str, str] = ("a", "b")) -> pd.DataFrame:
    """Per ``by`` group: Mann–Whitney U between ``a[value]`` and ``b[value]``."""
    sa, sb = suffixes
    rows = []
    keys = sorted(set(map(tuple, a[by].drop_duplicates().to_numpy())) & set(map(tuple, b[by].drop_duplicates().to_numpy())))
    ga, gb = a.groupby(by), b.groupby(by)
    for key in keys:
        xa = ga.get_group(key)[value].to_numpy(np.float64)
        xb = gb.get_group(key)[value].to_numpy(np.float64)
        if not (np.isfinite(xa).any() and np.isfinite(xb).any()):
            continue
        stat, p = mannwhitney(xa, xb, min_n)
        rows.append({**dict(zip(by, key)), f"n_{sa}": int(np.isfinite(xa).sum()), f"n_{sb}": int(np.isfinite(xb).sum()),
                     f"mean_{value}_{sa}": float(np.nanmean(xa)), f"mean_{value}_{sb}": float(np.nanmean(xb)), "statistic": stat, "p_value": p})
    return pd.DataFrame(rows)


def stratified_permutation(x: np.ndarray, y: np.ndarray, strata_x: np.ndarray, strata_y: np.ndarray, n_perm: int = 10000,
                           seed: int = 0, min_n: int = 1) -> tuple[float, float, dict[str, tuple[int, int]]]:
    """Difference of ``x`` and ``y`` *within* strata, with a permutation p-value (labels shuffled within strata).

    Why: correct and incorrect prompts are different prompts and the mix of categories differs
    between the groups, so an unpaired test across categories measures the category mix. The
    statistic is the weighted mean of per-stratum mean differences (weights ``n_x n_y / (n_x + n_y)``,
    as in van Elteren's stratified test); only strata with both groups present count. Returns
    ``(statistic, two-sided p, {stratum: (n_x, n_y)})``; NaN when no stratum has both groups.
    """
    x, sx, y, sy, cells = _finite_cells(x, y, strata_x, strata_y)
    stratum_w = stratum_weights(cells, min_n)
    if not stratum_w:
        return np.nan, np.nan, cells
    usable = list(stratum_w)
    values = [np.concatenate([x[sx == s], y[sy == s]]) for s in usable]
    n_x = [cells[s][0] for s in usable]
    weights = np.array([stratum_w[s] for s in usable])

    observed = float(sum(w * (v[:k].mean() - v[k:].mean()) for w, v, k in zip(weights, values, n_x)))
    rng = np.random.default_rng(seed)
    null = np.zeros(n_perm)
    for w, v, k in zip(weights, values, n_x):  # vectorised over permutations, one stratum at a time
        perm = v[rng.random((n_perm, v.size)).argsort(axis=1)]
        null += w * (perm[:, :k].mean(axis=1) - perm[:, k:].mean(axis=1))
    extreme = int((np.abs(null) >= abs(observed) - 1e-12).sum())
    return observed, (extreme + 1) / (n_perm + 1), cells


def _finite_cells(x, y, strata_x, strata_y):
    """The finite values of each group with their strata, and ``{stratum: (n_x, n_y)}``."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    sx, sy = np.asarray(strata_x).astype(str), np.asarray(strata_y).astype(str)
    okx, oky = np.isfinite(x), np.isfinite(y)
    x, sx, y, sy = x[okx], sx[okx], y[oky], sy[oky]
    cells = {str(s): (int((sx == s).sum()), int((sy == s).sum())) for s in sorted(set(sx) | set(sy))}
    return x, sx, y, sy, cells


def stratum_weights(cells: dict[str, tuple[int, int]], min_n: int = 1) -> dict[str, float]:
    """Normalised weights ``n_x n_y / (n_x + n_y)`` of the strata where both groups have ``min_n``
    members (the ones :func:`stratified_permutation` tests); the others get none."""
    raw = {s: a * b / (a + b) for s, (a, b) in cells.items() if a >= min_n and b >= min_n}
    total = sum(raw.values())
    return {s: w / total for s, w in raw.items()} if total else {}


def stratified_means(x: np.ndarray, y: np.ndarray, strata_x: np.ndarray, strata_y: np.ndarray, min_n: int = 1) -> tuple[float, float, int, int]:
    """``(mean_x, mean_y, n_x, n_y)`` over the strata :func:`stratified_permutation` tests: the
    stratum-weighted group means (their difference is its statistic) and the members counted.

    Why: a table that shows the means and n of every member next to a statistic made from some
    strata only describes a different population than it tests (the two can point opposite ways)."""
    x, sx, y, sy, cells = _finite_cells(x, y, strata_x, strata_y)
    w = stratum_weights(cells, min_n)
    if not w:
        return np.nan, np.nan, 0, 0
    mean_x = float(sum(ws * x[sx == s].mean() for s, ws in w.items()))
    mean_y = float(sum(ws * y[sy == s].mean() for s, ws in w.items()))
    return mean_x, mean_y, sum(cells[s][0] for s in w), sum(cells[s][1] for s in w)
