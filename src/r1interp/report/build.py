"""Assemble the HTML report from every stage's outputs under ``results/``.

Why discovery by path conventions (docs/architecture.md) instead of a hand-written list per
figure: stages add figures over time; each PNG that a stage writes appears in its section with
the caption registered for its file name, and a figure without a caption fails the build, so no
picture reaches a reader unexplained.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402

from r1interp.artifacts.write import write_figure, write_text  # noqa: E402
from r1interp.report.graph_page import graph_pages_section  # noqa: E402
from r1interp.report.html import Section, esc, figure, page, table  # noqa: E402

log = logging.getLogger(__name__)

# (regex on the path relative to results/, caption). The first match wins.
CAPTIONS: list[tuple[str, str]] = [
    (r"sweep/pareto\.png", "Pilot-layer sweep: faithfulness (CE increase, lower is better) against sparsity (k) for each "
     "dictionary size; Pareto-optimal points are connected, the selected configuration is marked."),
    (r"report/faithfulness\.png", "Per-layer CE-loss increase (nats) when one layer's MLP is replaced by its transcoder, "
     "per model; dashed lines mark the 0.1 target and the 0.05 ideal."),
    (r"report/dead\.png", "Dead latents (% of the dictionary never active on held-out tokens) per layer; the dashed line is "
     "the 10% target."),
    (r"report/graph_scores\.png", "Attribution-graph replacement and completeness scores per graph (circuit-tracer), by "
     "model and phase."),
    (r"report/labels\.png", "Feature label status per model: LLM labels (Claude) or automatic non-LLM summaries when no "
     "API key was given."),
    (r".*/heads/profile\.png", "Reasoning-focus heads: mean attention from answer tokens to <think> tokens per layer "
     "(max and mean over heads), averaged over generated traces."),
    (r".*/patching/heatmap\.png", "Activation patching: normalised logit difference recovered when the clean residual "
     "stream is patched into the corrupted trace, per pair and layer, and its mean over pairs, for each position set "
     "patched; the read position itself is never patched."),
    (r".*residual_diff\.png", "Model diff: mean L2 norm of the residual-stream difference between the reasoning model and "
     "its base on the same text at the same positions (each reading its own special tokens), per layer."),
    (r".*dictionary.*\.png", "Transcoder dictionaries compared: fraction of each model's features with a decoder-cosine "
     "match in the other model's dictionary, per layer."),
    (r"compare/zscore_heatmap\.png", "Mean triad-motif Z-score (a graph's count against its null ensemble), averaged over "
     "the graphs of each model × phase × task category (one row each; clipped at ±10). A mean over graphs is not a test: "
     "the comparison tables below test prompts, with their multiple-comparison correction."),
    (r"compare/sp_heatmap\.png", "Mean triad significance profile (SP = Z/||Z||, Milo 2004) over the graphs of each model × "
     "phase × task category: the shape of motif over- and under-representation, comparable across graph sizes. Under the layer-configuration null "
     "an attribution DAG's triad SP has one degree of freedom (±(−½, −½, −½, +½)): it shows only the sign of FFL "
     "enrichment, and the comparisons test Z(030T) instead."),
    (r"compare/signed_sp_heatmap\.png", "Mean signed-motif significance profile over the graphs of each model × phase × "
     "task category: coherent and incoherent feed-forward loops (Alon's sign rule), amplification/damping chains and "
     "cross-chain inhibition against signed nulls."),
    (r"compare/sp_profiles\.png", "Mean significance profile per model and phase, one panel per motif family (triads, "
     "signed motifs), with ±1 standard deviation over graphs."),
    (r"compare/similarity\.png", "Cosine similarity of mean significance profiles between task categories and models, "
     "ordered by average-linkage clustering (dendrogram); on the signed motifs' SP where the triad SP is degenerate "
     "(see analysis_summary.json: similarity_basis)."),
    (r"compare/ffl_cascade_.*\.png", "Strongest feed-forward-loop instances of one model's graphs drawn in a layer × "
     "position layout, each as source → mediator → target."),
    (r"compare/external/.*\.png", "External graph collection analysed by the same motif rules."),
    (r".*\.png", ""),  # any other figure must register a caption: an empty caption fails the build
]


class ReportError(ValueError):
    """A report input is missing or a figure has no caption."""


def caption_for(rel_path: str) -> str:
    for pattern, caption in CAPTIONS:
        if re.fullmatch(pattern, rel_path):
            if not caption:
                raise ReportError(f"figure {rel_path} has no caption: register one in r1interp.report.build.CAPTIONS")
            return caption
    raise ReportError(f"figure {rel_path} has no caption")


@dataclass(frozen=True)
class ReportInputs:
    results: Path
    models: list[str]
    pairs: list[dict]


def _fig_id(rel: str) -> str:
    return "fig-" + re.sub(r"[^A-Za-z0-9]+", "-", rel).strip("-").lower()


def _figures(results: Path, patterns: list[str], note: str = "") -> list[str]:
    """The figures matching ``patterns``, each with its registered caption and ``note`` (what this
    run's settings make of it: its null models, its position sets)."""
    seen: list[str] = []
    for pattern in patterns:
        for path in sorted(results.glob(pattern)):
            rel = path.relative_to(results).as_posix()
            if rel not in seen:
                seen.append(rel)
    return [figure(results / rel, " ".join(filter(None, (caption_for(rel), note))), _fig_id(rel)) for rel in seen]


def motif_null_note(results: Path) -> str:
    """The null model of each motif family in this run's comparison (``analysis_summary.json``)."""
    path = results / "compare" / "analysis_summary.json"
    nulls = json.loads(path.read_text()).get("null_models") if path.is_file() else None
    return ("Null models: " + "; ".join(f"{f} → {n}" for f, n in sorted(nulls.items())) + ".") if nulls else ""


def patching_note(summary: dict) -> str:
    """The position sets one model's patching run patched, and the role of each."""
    roles = summary.get("roles") or {}
    return ("Position sets: " + ", ".join(f"{k} ({v.replace('_', ' ')})" for k, v in roles.items()) + ".") if roles else ""


def _read_parquet(path: Path) -> pd.DataFrame | None:
    return pd.read_parquet(path) if path.is_file() else None


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    write_figure(fig, path, dpi=110, bbox_inches=None)


def faithfulness_figures(inp: ReportInputs, out_dir: Path) -> None:
    frames = []
    for m in inp.models:
        df = _read_parquet(inp.results / m / "eval" / "layers.parquet")
        if df is not None:
            frames.append(df.assign(model=m))
    if not frames:
        return
    df = pd.concat(frames)
    ce_col = next(c for c in ("ce_increase", "ce_delta", "delta_ce") if c in df.columns)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for m, g in df.groupby("model"):
        ax.plot(g["layer"], g[ce_col], marker="o", label=m)
    ax.axhline(0.1, ls="--", c="grey", lw=1)
    ax.axhline(0.05, ls=":", c="grey", lw=1)
    ax.set_xlabel("layer"), ax.set_ylabel("CE increase (nats)"), ax.legend()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _save(fig, out_dir / "faithfulness.png")
    dead_col = next((c for c in ("dead_pct", "dead_fraction", "dead") if c in df.columns), None)
    if dead_col:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        scale = 100 if df[dead_col].max() <= 1 and dead_col != "dead_pct" else 1
        for m, g in df.groupby("model"):
            ax.plot(g["layer"], g[dead_col] * scale, marker="s", label=m)
        ax.axhline(10, ls="--", c="grey", lw=1)
        ax.set_xlabel("layer"), ax.set_ylabel("dead latents (%)"), ax.legend()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _save(fig, out_dir / "dead.png")


def graph_figures(inp: ReportInputs, out_dir: Path) -> None:
    frames = [df.assign(model=m) for m in inp.models if (df := _read_parquet(inp.results / m / "graphs" / "scores.parquet")) is not None]
    if not frames:
        return
    df = pd.concat(frames).reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, col in zip(axes, ("replacement_score", "completeness_score")):
        for i, (key, g) in enumerate(df.groupby(["model", "phase"])):
            ax.scatter([i] * len(g), g[col], alpha=0.7, label=" / ".join(key))
        ax.set_title(col.replace("_", " ")), ax.set_xticks([])
    axes[0].set_ylabel("score"), axes[1].legend(fontsize=7, loc="lower right")
    _save(fig, out_dir / "graph_scores.png")


def label_figure(inp: ReportInputs, out_dir: Path) -> pd.DataFrame | None:
    rows = []
    for m in inp.models:
        for path in sorted((inp.results / m / "labels").glob("L*.json")):
            for rec in json.loads(path.read_text()):
                rows.append({"model": m, "layer": rec.get("layer"), "status": rec.get("status"), "label": rec.get("label"),
                             "label_source": rec.get("label_source"), "feature": rec.get("feature_idx"),
                             "summary": rec.get("auto_summary") or ""})
    if not rows:
        return None
    df = pd.DataFrame(rows)
    counts = df.groupby(["model", "status"]).size().unstack(fill_value=0)
    fig, ax = plt.subplots(figsize=(6, 2.8))
    counts.plot.barh(stacked=True, ax=ax)
    ax.set_xlabel("features")
    _save(fig, out_dir / "labels.png")
    return df


# The test tables: shown whole in the report (a cut would hide significant rows), each with a statement.
COMPARISON_TABLES = ("model_vs_base", "think_vs_answer", "correct_vs_incorrect", "category_tests")


def _distinct(values: pd.Series) -> str:
    return "; ".join(sorted(set(values.dropna().astype(str))))


def _label(key: object) -> str:
    """A groupby key (a value, or a tuple of them) as words."""
    return " ".join(map(str, key if isinstance(key, tuple) else (key,)))


def comparison_statement(name: str, df: pd.DataFrame) -> str:
    """What a comparison table compares, in words: its test and multiple-comparison correction, its
    null model(s), the positions of its graphs (per model and phase), the prompts and its n."""
    if df is None or df.empty:
        return f"<p><b>{esc(name)}</b>: no rows (too few paired prompts or graphs for this comparison).</p>"
    parts = []
    for col, label in (("test", "test"), ("fdr", "multiple comparisons")):
        if col in df.columns:
            parts.append(f"{label}: {_distinct(df[col])}")
    if "null_model" in df.columns:
        parts.append("null model: " + "; ".join(f"{f} → {_distinct(g)}" for f, g in df.groupby("family")["null_model"]))
    if "measure" in df.columns:
        parts.append("measure: " + "; ".join(f"{f} → {m}" for f, m in df.groupby("family")["measure"].first().items())
                     + (" (the triad family has one degree of freedom under this null: Z(021D) = Z(021U) = Z(021C) = −Z(030T), "
                        "so it is tested on Z(030T), not SP)" if (df["measure"] == "Z(030T)").any() else ""))
    by = [c for c in ("reasoner", "model", "source", "phase") if c in df.columns]
    if "positions" in df.columns:
        pos = df.groupby(by)["positions"].first().items() if by else [("", df["positions"].iloc[0])]
        parts.append("positions: " + "; ".join(f"{_label(k) + ': ' if k != '' else ''}{v}" for k, v in pos))
    if "prompts" in df.columns:
        parts.append(_distinct(df["prompts"]))
    if "n_pairs" in df.columns:
        by_n = [c for c in ("reasoner", "base", "model", "phase") if c in df.columns]
        ns = df.groupby(by_n)["n_pairs"].max().items()
        parts.append("n (paired prompts): " + "; ".join(f"{_label(k)} = {int(v)}" for k, v in ns))
    if "n_prompts" in df.columns:
        ns = df.groupby(by)["n_prompts"].first().items()
        parts.append("n (prompts per category): " + "; ".join(f"{_label(k)}: {v}" for k, v in ns))
    if "n_correct" in df.columns:
        g = df.groupby(["model", "phase"]).agg(c=("n_correct", "max"), i=("n_incorrect", "max"), u=("n_unfinished", "max"), cells=("cells", "first"),
                                               x=("n_unmatched", "max"), owner=("correctness_of", "first"))
        parts.append("n: " + "; ".join(f"{m} {ph}: {r.c} correct, {r.i} incorrect tested (categories with both), {r.x} in categories without "
                                       f"the other group, {r.u} unfinished (excluded); per category {r.cells}; correctness of {r.owner}'s generation"
                                       for (m, ph), r in g.iterrows()))
    if "pairing" in df.columns:
        parts.append("pairing: " + _distinct(df["pairing"]))
    return f"<p><b>{esc(name)}</b> — " + esc(" · ".join(parts)) + "</p>"


def stream_rows(inp: ReportInputs) -> pd.DataFrame:
    """How each model reads its pair's shared token stream: the stream hash and its CE on it, by segment."""
    from r1interp.artifacts.shards import read_stream_hash

    rows = []
    for m in inp.models:
        shard = inp.results / m / "data" / "train.parquet"
        full = inp.results / m / "eval" / "full.json"
        row = {"model": m, "stream_sha256": (read_stream_hash(shard) or "")[:16] if shard.is_file() else ""}
        if full.is_file():
            data = json.loads(full.read_text())
            row["ce (all)"] = data.get("ce_orig")
            for seg, vals in (data.get("segments") or {}).items():
                if isinstance(vals, dict) and "ce_orig" in vals:
                    row[f"ce ({seg})"] = vals["ce_orig"]
        rows.append(row)
    return pd.DataFrame(rows)


def compare_figures(results: Path, inp: ReportInputs) -> list[str]:
    """This run's comparison figures, relative to ``results``.

    ``results/compare/`` is shared by every run of the checkout, and figures named after a model
    (``ffl_cascade_{source}.png``, ``modeldiff/{reasoner}__{base}/``, ``external/{set}/``) outlive a
    run on other models — a real run's report would show the toy pair's cascades. So only this
    run's sources (models, and the external sets in its ``category_profiles.parquet``) count."""
    sources = set(inp.models)
    if (cat := _read_parquet(results / "compare" / "category_profiles.parquet")) is not None and "source" in cat.columns:
        sources |= set(cat["source"].astype(str))
    cascade = "ffl_cascade_"
    own = [p.name for p in sorted((results / "compare").glob("*.png")) if not p.stem.startswith(cascade)]
    return ([f"compare/{name}" for name in own] + [f"compare/{cascade}{s}.png" for s in sorted(sources)]
            + [f"compare/external/{s}/**/*.png" for s in sorted(sources - set(inp.models))])


def build_report(inp: ReportInputs, out_html: Path, title: str = "r1interp report") -> str:
    r = inp.results
    own = r / "report"
    faithfulness_figures(inp, own)
    graph_figures(inp, own)
    labels = label_figure(inp, own)
    sections: list[Section] = []

    s = Section("models", "Models", "The models analysed in this run and how their toy versions trained.")
    rows = []
    for m in inp.models:
        summary = r / "toy" / "models" / m / "training_summary.json"
        info = json.loads(summary.read_text()) if summary.is_file() else {}
        keep = ("eval_loss_init", "eval_loss", "init_from", "steps", "lr", "batch_size")
        rows.append({"model": m, **{k: round(v, 4) if isinstance(v, float) else v for k, v in info.items() if k in keep}})
    s.parts.append(table(pd.DataFrame(rows).fillna("")))
    sections.append(s)

    if (r / "costplan" / "plan.json").is_file():  # written by rules/costplan.smk
        from r1interp.core.costplan import plan_tables

        s = Section("costplan", "Cost plan", "Tokens, FLOPs, GPU-hours and dollars per stage, from the configuration.")
        s.parts += [table(df, caption) for caption, df in plan_tables(json.loads((r / "costplan" / "plan.json").read_text()))]
        sections.append(s)

    s = Section("stream", "One token stream per pair", "Both models of a pair are trained, evaluated and read on the same "
                "text: the reasoner's rendering of the corpus (traces included); the base reads it through the token map "
                "below (its own special tokens, same positions). The CE columns are each model's next-token loss on that "
                "stream's held-out split, by segment: how natural the shared stream is for each model.")
    s.parts.append(table(stream_rows(inp), "token stream hash and CE of each model on it"))
    for m in inp.models:
        tmap = r / m / "data" / "tokenmap.json"
        if tmap.is_file():
            entries = pd.DataFrame(json.loads(tmap.read_text())["entries"])
            s.parts.append(table(entries, f"{m}: how it reads its reasoner's special tokens"))
    sections.append(s)

    s = Section("generations", "Generations", "Each model's generations of the prompt set: correct, incorrect, or "
                "unfinished (a trace that did not close within the token budget is not wrong, only unfinished).")
    for m in inp.models:
        if (df := _read_parquet(r / m / "correctness.parquet")) is not None:
            s.parts.append(table(df, f"{m}: correctness per prompt", max_rows=40, source=f"results/{m}/correctness.parquet"))
    sections.append(s)

    s = Section("sweep", "Transcoder sweep", "Pilot layers, dictionary size × k grid, Pareto selection.")
    s.parts += _figures(r, ["sweep/*.png"])
    if (r / "sweep" / "selected.yaml").is_file():
        s.parts.append(f"<p>Selected configuration:</p><pre>{esc((r / 'sweep' / 'selected.yaml').read_text())}</pre>")
    if (df := _read_parquet(r / "sweep" / "results.parquet")) is not None:
        s.parts.append(table(df, "Sweep results", source="results/sweep/results.parquet"))
    sections.append(s)

    s = Section("faithfulness", "Faithfulness", "Per-layer replacement and all layers replaced at once, on held-out tokens.")
    s.parts += _figures(r, ["report/faithfulness.png", "report/dead.png"])
    for m in inp.models:
        if (df := _read_parquet(r / m / "eval" / "layers.parquet")) is not None:
            s.parts.append(table(df, f"{m}: per-layer metrics", source=f"results/{m}/eval/layers.parquet"))
        full = r / m / "eval" / "full.json"
        if full.is_file():
            data = json.loads(full.read_text())
            flat = {k: v for k, v in data.items() if isinstance(v, (int, float, str, bool))}
            s.parts.append(table(pd.DataFrame([flat]), f"{m}: all layers replaced at once"))
    sections.append(s)

    s = Section("features", "Features and labels", "Activation statistics and labels (Claude autointerp, or automatic summaries).")
    s.parts += _figures(r, ["report/labels.png"])
    for m in inp.models:
        summ = r / m / "features" / "summary.json"
        if summ.is_file():
            data = json.loads(summ.read_text())
            per_layer = data.get("layers") or data.get("per_layer")
            if isinstance(per_layer, dict):
                per_layer = [{"layer": k, **v} for k, v in per_layer.items()]
            if isinstance(per_layer, list):
                s.parts.append(table(pd.DataFrame(per_layer), f"{m}: per-layer feature statistics", source=f"results/{m}/features/summary.json"))
    if labels is not None:
        examples = labels.sort_values(["model", "layer", "feature"]).groupby("model").head(8)
        s.parts.append(table(examples[["model", "layer", "feature", "status", "label_source", "label", "summary"]], "Example labels (the first 8 features per model)",
                             source="results/<model>/labels/L*.json"))
    sections.append(s)

    s = Section("graphs", "Attribution graphs", "circuit-tracer graphs at the tokens where decisions are made: the answer "
                "graph explains the first token of the answer's content (inside \\boxed{}), think graphs explain tokens that "
                "write an intermediate result or start a step. A base model's graphs are teacher-forced on its reasoner's "
                "generation at the same positions. Open them with "
                "`circuit-tracer start-server --graph_file_dir results/<model>/graphs`.")
    s.parts += _figures(r, ["report/graph_scores.png"])
    s.parts.append(graph_pages_section(r, inp.models, out_html))  # offline interactive page per graph
    for m in inp.models:
        if (idx := _read_parquet(r / m / "graphs" / "index.parquet")) is not None:
            cols = [c for c in ("graph_id", "prompt_id", "phase", "position", "rule", "target_token", "status", "generation", "built", "reason")
                    if c in idx.columns]
            if "built" in idx.columns:  # the graphs not built (with their reason) first: a cut must not hide them
                idx = idx.sort_values("built", kind="stable", key=lambda b: b.fillna(False).astype(bool))
            s.parts.append(table(idx[cols], f"{m}: graph positions (graphs not built first, with the reason)", max_rows=60,
                                 source=f"results/{m}/graphs/index.parquet"))
    for m in inp.models:
        if (df := _read_parquet(r / m / "graphs" / "scores.parquet")) is not None:
            cols = [c for c in ("graph_id", "phase", "correct", "n_feature_nodes", "n_error_nodes", "n_edges",
                                "replacement_score", "completeness_score", "n_layers_with_features") if c in df.columns]
            s.parts.append(table(df[cols], f"{m}: graph scores", max_rows=60, source=f"results/{m}/graphs/scores.parquet"))
    sections.append(s)

    s = Section("motifs", "Network motifs", "Triad census against null models, signed feed-forward loops, and the comparisons.")
    s.parts += _figures(r, [f"{m}/motifs/*.png" for m in inp.models] + compare_figures(r, inp), note=motif_null_note(r))
    for path in sorted((r / "compare").glob("*.parquet")):
        df = pd.read_parquet(path)
        if path.stem in COMPARISON_TABLES:
            s.parts.append(comparison_statement(path.stem, df))
        whole = path.stem in COMPARISON_TABLES
        s.parts.append(table(df, f"compare/{path.name}", max_rows=None if whole else 15, source=f"results/compare/{path.name}"))
    sections.append(s)

    s = Section("heads", "Reasoning-focus heads", "Attention from answer tokens to the reasoning trace, per head.")
    s.parts += _figures(r, [f"{m}/heads/*.png" for m in inp.models])
    for m in inp.models:
        if (df := _read_parquet(r / m / "heads" / "heads.parquet")) is not None:
            s.parts.append(table(df.sort_values(df.columns[2] if "score" not in df else "score", ascending=False), f"{m}: top heads", max_rows=10,
                                 source=f"results/{m}/heads/heads.parquet"))
    sections.append(s)

    s = Section("patching", "Activation patching", "Clean → corrupted residual-stream patching per layer; "
                "reasoning_end is the headline measure, the other position sets are sanity checks.")
    for m in inp.models:
        summ = r / m / "patching" / "summary.json"
        data = json.loads(summ.read_text()) if summ.is_file() else {}
        s.parts += _figures(r, [f"{m}/patching/*.png"], note=patching_note(data))
        if data:
            means = data.get("mean_norm_logit_diff")
            if isinstance(means, list) and means:
                s.parts.append(table(pd.DataFrame(means), f"{m}: mean normalised logit difference per layer and position set (role)"))
    sections.append(s)

    s = Section("modeldiff", "Model diff", "Reasoning model vs its base, layer by layer.")
    s.parts += _figures(r, [f"compare/modeldiff/{p['reasoner']}__{p['base']}/*.png" for p in inp.pairs])
    sections.append(s)

    from r1interp.report.rule_costs import cost_table

    bench_dir = r.parent / "benchmarks"
    if bench_dir.is_dir():
        costs, totals = cost_table(bench_dir, exclude=("report",))
        if len(costs):
            s = Section("costs", "Per-rule cost", "Wall and CPU time per rule from Snakemake's benchmark files: each job's "
                        "latest benchmark, so a job this run did not rerun keeps the time of the run that last made it; the "
                        "report's own job is left out (its file is the previous report's). A regression shows in its rule's row.")
            total = ", ".join(f"{k} {v:,.0f}" for k, v in totals.items() if k != "span_s")
            s.parts.append(table(costs, f"per-rule cost (totals: {total})", max_rows=60, source="benchmarks/"))
            sections.append(s)

    html = page(title, f"models: {', '.join(inp.models)}", sections)
    write_text(html, out_html)
    return html
