"""The comparison stage: reads every source's motif tables, writes tables, summary and plots.

Outputs in ``out_dir`` (``results/compare/``):

Every test table names its null model (``null_model``), the positions its graphs explain
(``positions``: the rules that chose them, with counts), its n, and its ``measure``: the per-graph
number tested — the significance profile (``SP``), except for the triad family where the null
leaves it one degree of freedom (the layer-configuration null on DAGs): there it is ``Z(030T)``
and the other DAG triads' rows, which only mirror it, are dropped (see :mod:`.measure`).
``mean_<group>`` columns are means of that measure.

``model_vs_base.parquet``
    ``reasoner, base, phase, family, motif, measure, n_pairs, n_graphs, mean_reasoner, mean_base,
    median_diff, statistic, p_value, null_model, positions, pairing, prompts, q_value, significant, test, fdr`` —
    graphs paired by (prompt, phase, position) with the same target token, the base teacher-forced
    on the reasoner's generation; the unit is the prompt (mean SP over its paired graphs of the
    phase; ``n_pairs`` prompts, ``n_graphs`` graphs); reasoning prompts only; Wilcoxon
    signed-rank; BH within (pair, phase, family).
``think_vs_answer.parquet``
    ``model, family, motif, measure, n_pairs, mean_think, mean_answer, median_diff, statistic,
    p_value, null_model, positions, q_value, significant, test, fdr`` — a prompt's think graphs (mean) vs its
    answer graph, paired by prompt; BH within (model, family).
``correct_vs_incorrect.parquet``
    ``model, phase, family, motif, measure, n_correct, n_incorrect, n_unmatched, n_unfinished, n_strata,
    cells, mean_correct, mean_incorrect, statistic, p_value, null_model, positions, correctness_of,
    q_value, significant, test, fdr`` — within category (stratified permutation test over the ``n_strata``
    categories that have both groups; ``n_correct``/``n_incorrect`` and the category-weighted
    ``mean_*`` are of those prompts, ``statistic`` = ``mean_correct − mean_incorrect``;
    ``n_unmatched`` prompts sit in categories without the other group; ``cells`` = JSON of n correct /
    n incorrect per category); unfinished traces are neither and are counted apart (from the graph
    index: they have no graphs); ``correctness_of`` names whose generation was judged.
``category_profiles.parquet``
    ``source, phase, category, family, motif, motif_index, n_graphs, mean_sp, std_sp, mean_z,
    mean_count, profile, measure, null_model`` (``profile = source:phase:category``; sources = models + externals).
``category_tests.parquet``
    Kruskal–Wallis across categories on the measure per (source, phase, family, motif), the unit the
    prompt (mean over its graphs of the phase): ``n_categories, n_prompts`` (JSON per category),
    ``H, p_value, null_model, positions, q_value, significant, test, fdr``; the pairwise category Mann–Whitney U
    tests (same unit) go to the summary.
``similarity.parquet`` (``profile_a, profile_b, cosine, basis``: triad-family mean SP, or the
signed family's where the triad SP is degenerate and signed motifs are analysed) and
``clustering.parquet`` (scipy linkage rows ``left, right, distance, size`` + ``leaf_order``).
``analysis_summary.json``
    circuit-motifs' fields (``graphs, task_profiles, pairwise_comparisons, kruskal_wallis,
    similarity_matrix, motif_zoo``) plus ``model_vs_base``, ``think_vs_answer``,
    ``correct_vs_incorrect``, ``label_convention``, ``measures`` (family → measure), ``null_models`` (family → null),
    ``similarity_basis``. Non-finite numbers are written as null
    (the parquet tables keep ±inf).
Plots: ``zscore_heatmap.png``, ``sp_heatmap.png``, ``signed_sp_heatmap.png``,
``sp_profiles.png``, ``similarity.png``, ``ffl_cascade_{source}.png`` per source.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from r1interp.artifacts import motif_labels as L
from r1interp.artifacts.graphs import read_graph_index
from r1interp.artifacts.motifs import read_motif_tables, tier_names
from r1interp.artifacts.write import write_json, write_parquet
from r1interp.compare import plots
from r1interp.compare.measure import Z_FFL, measure_of, with_measure
from r1interp.compare.profiles import average_linkage, category_profiles, cosine_matrix, informative, profile_matrix, similarity_long
from r1interp.compare.stats import add_fdr, kruskal, paired_motif_tests, stratified_means, stratified_permutation, unpaired_motif_tests

log = logging.getLogger(__name__)

FAMILIES = ("triad", "signed", "size4")


class CompareConfigError(ValueError):
    """A ``compare`` config value is wrong; the message names the key."""


@dataclass(frozen=True)
class CompareConfig:
    families: tuple[str, ...] = ("triad", "signed")
    fdr_alpha: float = 0.05
    min_pairs: int = 3
    cascade_top_k: int = 10
    linkage: str = "average"
    n_stages: int = 3
    external: tuple[dict, ...] = field(default_factory=tuple)
    n_permutations: int = 10000
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, prefix: str = "compare") -> "CompareConfig":
        data = dict(data or {})
        names = {f.name for f in fields(cls)}
        for key in data:
            if key not in names:
                raise CompareConfigError(f"{prefix}.{key}: unknown key; allowed: {sorted(names)}")
        fams = tuple(data.get("families", cls.families))
        bad = [f for f in fams if f not in FAMILIES]
        if bad or not fams:
            raise CompareConfigError(f"{prefix}.families: {bad or fams} not allowed; allowed: {FAMILIES}")
        alpha = data.get("fdr_alpha", cls.fdr_alpha)
        if not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
            raise CompareConfigError(f"{prefix}.fdr_alpha: must be in (0, 1), got {alpha!r}")
        for key in ("min_pairs", "cascade_top_k", "n_stages", "n_permutations"):
            v = data.get(key, getattr(cls, key))
            if not isinstance(v, int) or v < 1:
                raise CompareConfigError(f"{prefix}.{key}: must be an integer >= 1, got {v!r}")
        link = data.get("linkage", cls.linkage)
        if link not in ("average", "single", "complete", "weighted"):
            raise CompareConfigError(f"{prefix}.linkage: {link!r} not one of average, single, complete, weighted")
        ext = tuple(data.get("external", ()))
        for i, e in enumerate(ext):
            if not isinstance(e, dict) or set(e) != {"name", "path"}:
                raise CompareConfigError(f"{prefix}.external[{i}]: must be {{name, path}}, got {e!r}")
        return cls(fams, float(alpha), data.get("min_pairs", cls.min_pairs), data.get("cascade_top_k", cls.cascade_top_k), link,
                   data.get("n_stages", cls.n_stages), ext, data.get("n_permutations", cls.n_permutations), int(data.get("seed", cls.seed)))


@dataclass
class Source:
    """One model's (or external collection's) motif tables."""

    name: str
    kind: str  # "model" | "external"
    profiles: pd.DataFrame
    instances: pd.DataFrame
    graphs: pd.DataFrame
    unfinished: frozenset[str] = frozenset()
    """Prompts whose trace never closed, from the graph stage's index: they have no graphs, so
    the motif tables cannot list them (empty when no index was given)."""


def load_source(name: str, motif_dir: str | Path, kind: str = "model", graph_index: str | Path | None = None) -> Source:
    """Read ``profiles/ffl_instances/graphs.parquet`` of a motif output dir, and the unfinished
    prompts of the graph stage's ``index.parquet`` where given (errors name the file)."""
    tables = read_motif_tables(motif_dir, f"{kind} {name!r}")
    prof = tables["profiles"].copy()
    prof["source"] = name
    unfinished = frozenset()
    if graph_index is not None:
        index = read_graph_index(graph_index, ("prompt_id", "status"))
        unfinished = frozenset(index.loc[index["status"] == "unfinished", "prompt_id"].astype(str))
    return Source(name, kind, prof, tables["ffl_instances"], tables["graphs"], unfinished)


PAIRED_TEST = "Wilcoxon signed-rank, two-sided, on paired prompt means"
UNPAIRED_TEST = "Mann–Whitney U, two-sided, on prompt means"
KRUSKAL_TEST = "Kruskal–Wallis across categories on prompt means"
PERMUTATION_TEST = "stratified permutation within category (weighted mean difference of the measure)"


def _wide_fdr(df: pd.DataFrame, by: list[str], alpha: float, test: str) -> pd.DataFrame:
    """``q_value``/``significant`` (BH within each ``by`` group), and the ``test`` and ``fdr`` that
    produced them in words, so that a table read alone (pandas, the report) says how it was tested."""
    df = add_fdr(df, by, alpha) if len(df) else df.assign(q_value=pd.Series(dtype=float), significant=pd.Series(dtype=bool))
    return df.assign(test=test, fdr=f"Benjamini–Hochberg across the motifs of each ({', '.join(by)}), α = {alpha:g}")


class PairingError(ValueError):
    """Two graphs that a comparison pairs do not explain the same token; the message names them."""


def describe(values: pd.Series) -> str:
    """``"a (3), b (1)"``: what a table's rows are made of, for its ``positions``/``null_model`` columns."""
    counts = values.astype(str).value_counts()
    return ", ".join(f"{k} ({int(v)})" for k, v in sorted(counts.items()))


def _graph_level(p: pd.DataFrame) -> pd.DataFrame:
    """One row per graph: the id columns a comparison needs (from a profiles table)."""
    cols = [c for c in ("graph_id", "prompt_id", "category", "phase", "position", "rule", "target_token", "status", "generation",
                        "needs_reasoning") if c in p.columns]
    return p[cols].drop_duplicates("graph_id")


def measured(p: pd.DataFrame) -> pd.DataFrame:
    """Informative rows with the ``value``/``measure`` each test uses (:mod:`.measure`)."""
    p = informative(p)
    return p if "value" in p.columns else with_measure(p)


def by_prompt(p: pd.DataFrame) -> pd.DataFrame:
    """Mean ``value`` over a prompt's graphs of one phase: the unit of every test (graphs of one trace are not independent)."""
    keys = ["prompt_id", "category", "phase", "family", "motif"]
    return p.groupby(keys, sort=True, observed=True).agg(value=("value", "mean"), n_graphs=("graph_id", "nunique")).reset_index()


def _renamed(t: pd.DataFrame, suffixes: tuple[str, str]) -> pd.DataFrame:
    """``mean_value_a`` → ``mean_a``: the mean of the table's measure (named in its ``measure`` column)."""
    return t.rename(columns={f"mean_value_{s}": f"mean_{s}" for s in suffixes})


def paired_graph_profiles(pr: pd.DataFrame, pb: pd.DataFrame, reasoner: str, base: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reasoner's and the base's profiles restricted to graphs that explain the same token.

    Graphs pair on (prompt, phase, position); paired graphs must name the same target token text
    and the base's must be teacher-forced on this reasoner's generation — otherwise the pair compares
    different decisions, and we refuse with the graph ids.
    """
    key = ["prompt_id", "phase", "position"]
    gr, gb = _graph_level(pr), _graph_level(pb)
    m = gr.merge(gb, on=key, suffixes=("_r", "_b"))
    wrong_source = m[m["generation_b"] != f"teacher_forced:{reasoner}"]
    if len(wrong_source):
        r = wrong_source.iloc[0]
        raise PairingError(f"{base} graph {r['graph_id_b']} is built on {r['generation_b']!r}, not teacher-forced on {reasoner}'s "
                           f"generation: it does not read the same tokens as {r['graph_id_r']}")
    differ = m[m["target_token_r"].astype(str).str.strip() != m["target_token_b"].astype(str).str.strip()]
    if len(differ):
        r = differ.iloc[0]
        raise PairingError(f"{reasoner} {r['graph_id_r']} explains {r['target_token_r']!r} but {base} {r['graph_id_b']} explains "
                           f"{r['target_token_b']!r} at the same position")
    keep_r, keep_b = set(m["graph_id_r"]), set(m["graph_id_b"])
    return pr[pr["graph_id"].isin(keep_r)], pb[pb["graph_id"].isin(keep_b)]


def model_vs_base(sources: dict[str, Source], pairs: list[dict[str, str]], cfg: CompareConfig) -> pd.DataFrame:
    """Reasoner vs its teacher-forced base, per phase: Wilcoxon on the per-prompt measure, graphs paired by position.

    Only prompts that need reasoning (and whose trace closed: others have no graphs) count.
    """
    rows = []
    for pair in pairs:
        r, b = pair["reasoner"], pair["base"]
        if r not in sources or b not in sources:
            raise ValueError(f"pair {pair}: no motif tables for {[m for m in (r, b) if m not in sources]}")
        pr, pb = measured(sources[r].profiles), measured(sources[b].profiles)
        n_all = pr["prompt_id"].nunique()
        if "needs_reasoning" in pr.columns:
            pr = pr[pr["needs_reasoning"].fillna(False).astype(bool)]
        prompts = f"prompts that need reasoning: {pr['prompt_id'].nunique()} of the {n_all} with measured graphs"
        pr, pb = paired_graph_profiles(pr, pb, r, b)
        for phase in sorted(set(pr["phase"]) & set(pb["phase"])):
            qr, qb = pr[pr["phase"] == phase], pb[pb["phase"] == phase]
            t = paired_motif_tests(by_prompt(qr), by_prompt(qb), ["prompt_id"], ["family", "motif"], "value", cfg.min_pairs, ("reasoner", "base"))
            if not len(t):
                continue
            nulls = qr.groupby("family")["null_model"].first()
            rows.append(_renamed(t, ("reasoner", "base")).assign(reasoner=r, base=b, phase=phase, n_graphs=int(qr["graph_id"].nunique()),
                                 measure=t["family"].map(measure_of(qr)),
                                 positions=describe(_graph_level(qr)["rule"]), null_model=t["family"].map(nulls),
                                 pairing="same prompt, phase, position and target token; base teacher-forced", prompts=prompts))
    cols = ["reasoner", "base", "phase", "family", "motif", "measure", "n_pairs", "n_graphs", "mean_reasoner", "mean_base", "median_diff",
            "statistic", "p_value", "null_model", "positions", "pairing", "prompts"]
    df = pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
    return _wide_fdr(df, ["reasoner", "base", "phase", "family"], cfg.fdr_alpha, PAIRED_TEST)


def think_vs_answer(sources: dict[str, Source], cfg: CompareConfig) -> pd.DataFrame:
    """Per model: the mean measure of a prompt's think graphs vs its answer graph, paired by prompt."""
    rows = []
    for name, src in sources.items():
        p = measured(src.profiles)
        t, a = p[p["phase"] == "think"], p[p["phase"] == "answer"]
        if t.empty or a.empty:
            continue
        res = paired_motif_tests(by_prompt(t), by_prompt(a), ["prompt_id"], ["family", "motif"], "value", cfg.min_pairs, ("think", "answer"))
        if len(res):
            nulls = p.groupby("family")["null_model"].first()
            res = _renamed(res, ("think", "answer")).assign(model=name, null_model=res["family"].map(nulls), measure=res["family"].map(measure_of(p)),
                             positions=f"think: {describe(_graph_level(t)['rule'])}; answer: {describe(_graph_level(a)['rule'])}")
            rows.append(res)
    cols = ["model", "family", "motif", "measure", "n_pairs", "mean_think", "mean_answer", "median_diff", "statistic", "p_value",
            "null_model", "positions"]
    df = pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)
    return _wide_fdr(df, ["model", "family"], cfg.fdr_alpha, PAIRED_TEST)


def correct_vs_incorrect(sources: dict[str, Source], cfg: CompareConfig) -> pd.DataFrame:
    """Per model and phase: correct vs incorrect prompts *within category* (stratified permutation test).

    Unfinished traces are neither (their count is reported: the graph index's, as they have no
    graphs); the unit is the prompt (mean measure of its graphs of the phase). ``n_*`` and
    ``mean_*`` describe the prompts the test uses — those in categories with both groups
    (``n_strata``), the means weighted per category as the statistic is, so that it equals their
    difference —; ``n_unmatched`` counts the others, ``cells`` gives every category's n correct /
    n incorrect, and ``correctness_of`` says whose generation was judged (a teacher-forced base
    reads its reasoner's).
    """
    rows = []
    for name, src in sources.items():
        p = measured(src.profiles)
        if "status" not in p.columns or p["status"].isna().all():
            continue
        graphs = _graph_level(p)
        judged = ", ".join(sorted({_generation_owner(g, name) for g in graphs["generation"]})) if "generation" in graphs.columns else name
        for phase in sorted(p["phase"].unique()):
            q = p[p["phase"] == phase]
            status = graphs[graphs["phase"] == phase].drop_duplicates("prompt_id").set_index("prompt_id")["status"]
            unit = by_prompt(q)
            unit["status"] = unit["prompt_id"].map(status)
            n_unfinished = len(src.unfinished | set(status[status == "unfinished"].index.astype(str)))
            measure = measure_of(q)
            for (fam, motif), g in unit.groupby(["family", "motif"], sort=True):
                ok, bad = g[g["status"] == "correct"], g[g["status"] == "incorrect"]
                if ok.empty or bad.empty:
                    continue
                args = (ok["value"].to_numpy(), bad["value"].to_numpy(), ok["category"].to_numpy(), bad["category"].to_numpy())
                stat, pv, cells = stratified_permutation(*args, n_perm=cfg.n_permutations, seed=cfg.seed)
                mean_ok, mean_bad, n_ok, n_bad = stratified_means(*args)
                rows.append({"model": name, "phase": phase, "family": fam, "motif": motif, "measure": measure[fam], "n_correct": n_ok, "n_incorrect": n_bad,
                             "n_unmatched": sum(a + b for a, b in cells.values()) - n_ok - n_bad, "n_unfinished": n_unfinished,
                             "n_strata": sum(1 for a, b in cells.values() if a and b), "cells": json.dumps(cells),
                             "mean_correct": mean_ok, "mean_incorrect": mean_bad, "statistic": stat, "p_value": pv,
                             "null_model": q.loc[q["family"] == fam, "null_model"].iloc[0], "positions": describe(graphs[graphs["phase"] == phase]["rule"]),
                             "correctness_of": judged})
    cols = ["model", "phase", "family", "motif", "measure", "n_correct", "n_incorrect", "n_unmatched", "n_unfinished", "n_strata", "cells",
            "mean_correct", "mean_incorrect", "statistic", "p_value", "null_model", "positions", "correctness_of"]
    df = pd.DataFrame(rows, columns=cols)
    return _wide_fdr(df, ["model", "phase", "family"], cfg.fdr_alpha, PERMUTATION_TEST)


def _generation_owner(generation, model: str) -> str:
    """The model whose generation a graph reads: ``own`` → ``model``, ``teacher_forced:X`` → X."""
    return model if generation in ("own", "", None) or pd.isna(generation) else str(generation).split(":", 1)[-1]


def category_tests(profiles: pd.DataFrame, cfg: CompareConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Kruskal–Wallis across categories, and pairwise category Mann–Whitney U (BH each).

    The unit is the prompt (mean measure of its graphs of the phase), as in every other test:
    a prompt's think graphs read one trace and are not independent samples of its category."""
    p = measured(profiles)
    kw, pw = [], []
    for (src, phase, fam), grp in p.groupby(["source", "phase", "family"], sort=True):
        cats = sorted(grp["category"].unique())
        measure = str(grp["measure"].iloc[0])
        unit = by_prompt(grp)
        graph_rows = _graph_level(grp)
        info = {"null_model": ", ".join(sorted(set(grp["null_model"].astype(str)))),
                "positions": describe(graph_rows["rule"]) if "rule" in graph_rows.columns else "not recorded"}
        for motif, g in unit.groupby("motif", sort=True):
            groups = [g.loc[g["category"] == c, "value"].to_numpy() for c in cats]
            h, pv = kruskal(groups)
            kw.append({"source": src, "phase": phase, "family": fam, "motif": motif, "motif_index": int(grp.loc[grp["motif"] == motif, "motif_index"].iloc[0]),
                       "measure": measure, "n_categories": len(cats), "n_prompts": json.dumps({c: int(np.isfinite(x).sum()) for c, x in zip(cats, groups)}),
                       "H": h, "p_value": pv, **info})
        for i, a in enumerate(cats):
            for b in cats[i + 1 :]:
                t = unpaired_motif_tests(unit[unit["category"] == a], unit[unit["category"] == b], ["motif"], "value", 2, ("a", "b"))
                if len(t):
                    pw.append(_renamed(t, ("a", "b")).assign(source=src, phase=phase, family=fam, measure=measure, task_a=a, task_b=b, **info))
    kw_df = pd.DataFrame(kw, columns=["source", "phase", "family", "motif", "motif_index", "measure", "n_categories", "n_prompts", "H", "p_value",
                                      "null_model", "positions"])
    pw_df = pd.concat(pw, ignore_index=True) if pw else pd.DataFrame(columns=["source", "phase", "family", "measure", "task_a", "task_b", "motif", "statistic",
                                                                             "p_value", "null_model", "positions"])
    return (_wide_fdr(kw_df, ["source", "phase", "family"], cfg.fdr_alpha, KRUSKAL_TEST),
            _wide_fdr(pw_df, ["source", "phase", "family", "task_a", "task_b"], cfg.fdr_alpha, UNPAIRED_TEST))


def _finite(x: Any) -> Any:
    """JSON-safe: non-finite floats → None, numpy scalars → Python."""
    if isinstance(x, dict):
        return {str(k): _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if x is pd.NA:
        return None
    return x


def analysis_summary(profiles: pd.DataFrame, graphs: pd.DataFrame, cat: pd.DataFrame, sim: pd.DataFrame, kw: pd.DataFrame, pairwise: pd.DataFrame, tests: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """circuit-motifs' ``analysis_summary.json`` fields (triad family), plus our paired tests."""
    tri = profiles[profiles["family"] == "triad"]
    conn = [L.TRIAD_LABELS[i] for i in L.CONNECTED]
    graph_rows = []
    info = graphs.set_index(["source", "graph_id"]) if len(graphs) else None
    for (src, gid), g in tri.groupby(["source", "graph_id"], sort=True):
        g = g.set_index("motif")
        meta = info.loc[(src, gid)] if info is not None and (src, gid) in info.index else {}
        counts = {m: int(g.loc[m, "count"]) for m in conn if m in g.index}
        graph_rows.append({
            "source": src, "category": g["category"].iloc[0], "phase": g["phase"].iloc[0], "name": gid,
            "n_nodes": int(g["n_nodes"].iloc[0]) if "n_nodes" in g else None, "n_edges": int(g["n_edges"].iloc[0]) if "n_edges" in g else None,
            "prompt": meta.get("prompt", "") if hasattr(meta, "get") else "",
            "z_scores": {m: g.loc[m, "z"] for m in conn if m in g.index},
            "significance_profile": {m: g.loc[m, "sp"] for m in conn if m in g.index},
            "instance_counts": {name: counts.get(L.TRIAD_LABELS[i], 0) for i, name in L.DAG_MOTIF_NAMES.items()},
        })
    ctri = cat[cat["family"] == "triad"]
    task_profiles = {
        prof: {"n_graphs": int(g["n_graphs"].max()), "mean_z": dict(zip(g["motif"], g["mean_z"])), "mean_sp": dict(zip(g["motif"], g["mean_sp"]))}
        for prof, g in ctri.groupby("profile", sort=True)
    }
    pw_tri = pairwise[pairwise["family"] == "triad"] if len(pairwise) else pairwise
    pairwise_rows = []
    if len(pw_tri):
        for (src, phase, a, b), g in pw_tri.groupby(["source", "phase", "task_a", "task_b"], sort=True):
            la, lb = f"{src}:{phase}:{a}", f"{src}:{phase}:{b}"
            sig = g[g["significant"]]
            pairwise_rows.append({"task_a": la, "task_b": lb, "cosine_similarity": float(sim.loc[la, lb]) if la in sim.index and lb in sim.index else None,
                                  "n_significant_motifs": int(len(sig)), "significant_motif_indices": [L.TRIAD_LABELS.index(m) for m in sig["motif"]], "significant_motifs": list(sig["motif"])})
    kw_tri = kw[kw["family"] == "triad"] if len(kw) else kw
    kw_rows = [{"source": r.source, "phase": r.phase, "motif_index": int(r.motif_index), "label": r.motif, "H_statistic": r.H, "p_value": r.p_value, "q_value": r.q_value, "significant": bool(r.significant)} for r in kw_tri.itertuples()]
    zoo = []
    for m in conn:
        z = tri.loc[tri["motif"] == m, "z"].to_numpy(np.float64)
        z = z[np.isfinite(z)]
        if z.size == 0:
            continue
        zoo.append({"label": m, "mean_z": z.mean(), "std_z": z.std(), "median_z": float(np.median(z)), "min_z": z.min(), "max_z": z.max(),
                    "n_enriched": int((z > 2).sum()), "n_depleted": int((z < -2).sum()), "n_graphs": int(z.size),
                    "pct_enriched": round(100 * float((z > 2).mean()), 1), "pct_depleted": round(100 * float((z < -2).mean()), 1)})
    zoo.sort(key=lambda r: -abs(r["mean_z"]))
    interesting = []
    for g in graph_rows:
        z = np.array([v for v in g["z_scores"].values()], dtype=np.float64)
        z = z[np.isfinite(z)]
        if z.size:
            interesting.append({"source": g["source"], "category": g["category"], "name": g["name"], "max_abs_z": float(np.abs(z).max()), "n_significant_motifs": int((np.abs(z) > 2).sum()), "n_nodes": g["n_nodes"], "n_edges": g["n_edges"], "prompt": (g["prompt"] or "")[:100]})
    interesting.sort(key=lambda r: -r["max_abs_z"])

    def records(df: pd.DataFrame) -> list[dict[str, Any]]:
        return df.to_dict(orient="records") if len(df) else []

    return _finite({
        "label_convention": "standard (networkx) triad names in igraph isoclass order; circuit-motifs swaps 111U/111D and 120U/120D",
        "graphs": graph_rows,
        "task_profiles": task_profiles,
        "pairwise_comparisons": pairwise_rows,
        "kruskal_wallis": kw_rows,
        "similarity_matrix": {"task_names": list(sim.index), "matrix": sim.to_numpy().tolist()},
        "motif_zoo": {"motif_summary": zoo, "interesting_graphs": interesting[:20]},
        **{k: records(v) for k, v in tests.items()},
    })


def similarity_basis(families: list[str], measures: pd.Series) -> str:
    """The family whose mean SP vectors the similarity and clustering use: triads, unless their SP is
    degenerate (:mod:`.measure`) and signed motifs are analysed."""
    if "triad" in families and (Z_FFL not in measures.get("triad", "") or "signed" not in families):
        return "triad"
    return "signed" if "signed" in families else families[0]


def cascade_graph(instances: pd.DataFrame, top_k: int) -> tuple[str | None, pd.DataFrame]:
    """The graph whose top-``top_k`` FFLs carry the most weight, and those FFLs."""
    if instances.empty:
        return None, instances
    top = instances[instances["rank"] < top_k]
    gid = top.groupby("graph_id")["total_weight"].sum().idxmax()
    return gid, top[top["graph_id"] == gid]


def run_compare(sources: dict[str, Source], pairs: list[dict[str, str]], cfg: CompareConfig, out_dir: str | Path) -> dict[str, Any]:
    """All comparison outputs (see module doc); returns the summary dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not sources:
        raise ValueError("no motif tables to compare")
    fam = list(cfg.families)
    profiles = pd.concat([s.profiles for s in sources.values()], ignore_index=True)
    profiles = profiles[profiles["family"].isin(fam)]
    models = {k: v for k, v in sources.items() if v.kind == "model"}
    # one decision per null model for every source, so paired sources are tested on the same measure
    measured_all = with_measure(informative(profiles))
    for s in sources.values():
        s.profiles = measured_all[measured_all["source"] == s.name]
    measures = measured_all.groupby("family")["measure"].agg(lambda v: "; ".join(sorted(set(map(str, v)))))
    graphs = pd.concat([s.graphs.assign(source=s.name) for s in sources.values() if len(s.graphs)], ignore_index=True) if any(len(s.graphs) for s in sources.values()) else pd.DataFrame()

    tests = {"model_vs_base": model_vs_base(models, pairs, cfg), "think_vs_answer": think_vs_answer(models, cfg), "correct_vs_incorrect": correct_vs_incorrect(models, cfg)}
    for name, df in tests.items():
        write_parquet(df, out / f"{name}.parquet")
    cat = category_profiles(profiles)
    per_source = measured_all.groupby(["source", "family"])["measure"].first()
    cat["measure"] = [per_source.get((s_, f_), "") for s_, f_ in zip(cat["source"], cat["family"])]
    nulls = profiles.groupby(["source", "family"])["null_model"].agg(lambda v: ", ".join(sorted(set(map(str, v)))))
    cat["null_model"] = [nulls.get((s_, f_), "") for s_, f_ in zip(cat["source"], cat["family"])]
    write_parquet(cat, out / "category_profiles.parquet")
    kw, pairwise = category_tests(profiles, cfg)
    write_parquet(kw, out / "category_tests.parquet")

    basis = similarity_basis(fam, measures)
    mat = profile_matrix(cat, basis, "mean_sp")
    sim = cosine_matrix(mat) if len(mat) else pd.DataFrame()
    link, order = average_linkage(sim, cfg.linkage) if len(sim) else (np.zeros((0, 4)), [])
    sim_long = similarity_long(sim) if len(sim) else pd.DataFrame(columns=["profile_a", "profile_b", "cosine"])
    write_parquet(sim_long.assign(basis=f"{basis} mean SP"), out / "similarity.parquet")
    clus = pd.DataFrame(link, columns=["left", "right", "distance", "size"]) if len(link) else pd.DataFrame(columns=["left", "right", "distance", "size"])
    clus["leaf_order"] = pd.Series([json.dumps(order)] * len(clus), dtype=object)
    write_parquet(clus, out / "clustering.parquet")

    summary = analysis_summary(profiles, graphs, cat, sim, kw, pairwise, tests)
    summary["clustering"] = {"method": cfg.linkage, "distance": "1 - cosine", "leaf_order": order, "linkage": _finite(link.tolist())}
    summary["similarity_basis"] = f"{basis} mean SP"
    summary["measures"] = {str(k): str(v) for k, v in measures.items()}
    summary["null_models"] = {str(f): ", ".join(sorted(set(map(str, v)))) for f, v in profiles.groupby("family")["null_model"]}
    write_json(summary, out / "analysis_summary.json", allow_nan=False)

    plots.heatmap(profile_matrix(cat, "triad", "mean_z") if "triad" in fam else pd.DataFrame(), out / "zscore_heatmap.png", "Mean Z-score (triads)", limit=10.0, cbar="Z (clipped ±10)")
    sp_title = "Mean significance profile (triads)" if Z_FFL not in measures.get("triad", "") else "Mean triad SP: one degree of freedom (sign of Z(030T) only)"
    plots.heatmap(profile_matrix(cat, "triad", "mean_sp") if "triad" in fam else pd.DataFrame(), out / "sp_heatmap.png", sp_title, limit=1.0, cbar="SP")
    plots.heatmap(profile_matrix(cat, "signed", "mean_sp") if "signed" in fam else pd.DataFrame(), out / "signed_sp_heatmap.png", "Mean significance profile (signed motifs)", limit=1.0, cbar="SP")
    lines = {}
    for f in fam:
        p = informative(profiles[profiles["family"] == f])
        if len(p):
            p = p.assign(group=p["source"].astype(str) + ":" + p["phase"].astype(str))
            lines[f] = p.groupby(["group", "motif", "motif_index"]).agg(mean_sp=("sp", "mean"), std_sp=("sp", "std")).reset_index().fillna({"std_sp": 0.0})
    plots.sp_profiles(lines, out / "sp_profiles.png")
    plots.similarity(sim, link, out / "similarity.png")
    for name, s in sources.items():
        gid, inst = cascade_graph(s.instances, cfg.cascade_top_k)
        plots.ffl_cascade(inst, out / f"ffl_cascade_{name}.png", f"{name}: top FFLs of {gid}" if gid else f"{name}: no FFLs", tier_names(cfg.n_stages))
    log.info("compare: %d sources, %d profiles, outputs in %s", len(sources), len(sim), out)
    return summary
