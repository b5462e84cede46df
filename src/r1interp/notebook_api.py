"""From a prompt to a circuit in a few calls: the façade the tutorial notebook uses.

Everything here reuses the stages' own functions (generation and segments from ``prompts``, the
replacement model and attribution from ``graphs``, labels from ``autointerp``, examples from
``features``, motifs and nulls from ``motifs``) on a finished run's ``results/``; the notebook
holds no science. Models and replacement models are loaded once per session and cached.

Typical use::

    run = open_run()                          # results/ of the toy default, or the real pair's
    ans = answer(run, run.reasoner, "What is 17 + 25?")
    g = attribution_graph(run, run.reasoner, ans.ids, ans.position)
    top_features(run, run.reasoner, g); plot_graph(g); motif_profile(run, g)
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

FEATURE_TYPE = "cross layer transcoder"
_CACHE: dict[tuple[str, str], Any] = {}


# ------------------------------------------------------------------ the run
@dataclass
class Run:
    """A finished run: its ``results/`` directory, config, and the reasoner/base pair to study."""

    root: Path  # directory the config's relative paths are resolved from
    results: Path
    config: dict
    reasoner: str
    base: str
    device: str = "cpu"

    def model_dir(self, model: str) -> Path:
        from r1interp.graphs.adapter import resolve_model_dir

        path = self.config["models"][model]["path"]
        local = self.root / path
        return resolve_model_dir(local if local.is_dir() else path)

    def template(self, model: str) -> str:
        return self.config["models"][model].get("template", "plain")


def _finished(results: Path, model: str) -> bool:
    return (results / model / "transcoders" / "L0" / "sae.safetensors").is_file() and (results / model / "labels.sqlite").is_file()


def open_run(results: str | Path | None = None, configfiles: list[str] | None = None, device: str | None = None) -> Run:
    """The run to explore: ``results`` (default ``$R1INTERP_RESULTS`` or ``./results``) with the
    ``config.yaml`` next to it and the run's ``--configfile`` overrides (default
    ``$R1INTERP_CONFIGFILES``, separated by ``os.pathsep``).

    The first pair of the config's ``run.pairs`` whose models both have transcoders and labels is
    used: a run is read with the settings it was made with, so the real pair's results need the real
    config file (``configfiles=["config/r1-distill-qwen-1.5b.yaml"]``); finished models outside
    ``run.pairs`` are named in the error rather than read with another run's settings.
    """
    from r1interp.config import load_config

    results = Path(results or os.environ.get("R1INTERP_RESULTS") or "results").absolute()  # a symlinked results/ keeps its config
    if not results.is_dir():
        raise FileNotFoundError(f"results directory not found: {results} (run `snakemake --cores 2` first)")
    root = results.parent
    if configfiles is None:
        configfiles = [p for p in os.environ.get("R1INTERP_CONFIGFILES", "").split(os.pathsep) if p]
    cfg = load_config(str(root / "config.yaml"), *[str(root / p) for p in configfiles])
    pairs = list(cfg.get("run", {}).get("pairs", []))
    for pair in pairs:
        if all(m in cfg.get("models", {}) and _finished(results, m) for m in pair.values()):
            dev = device or ("cuda" if _cuda() else "cpu")
            log.info("run %s: %s vs %s on %s", results, pair["reasoner"], pair["base"], dev)
            return Run(root, results, cfg, pair["reasoner"], pair["base"], dev)
    listed = {m for pair in pairs for m in pair.values()}
    others = sorted(p.name for p in results.iterdir() if p.is_dir() and p.name not in listed and _finished(results, p.name))
    hint = (f"; finished here but not in run.pairs of config.yaml + {configfiles or 'no --configfile'}: {others} — pass the run's "
            "config files (configfiles=[...], the notebook's CONFIGFILES, or $R1INTERP_CONFIGFILES)") if others else ""
    raise FileNotFoundError(f"{results}: no pair of run.pairs {pairs} has finished transcoders and labels{hint}")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _hf(run: Run, model: str):
    key = ("hf", model)
    if key not in _CACHE:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        d = run.model_dir(model)
        tok = AutoTokenizer.from_pretrained(str(d))
        m = AutoModelForCausalLM.from_pretrained(str(d)).to(run.device).eval()
        _CACHE[key] = (m, tok)
    return _CACHE[key]


def _replacement(run: Run, model: str):
    key = ("replacement", model)
    if key not in _CACHE:
        from r1interp.graphs.adapter import load_replacement_model

        cfg = graphs_config(run)
        _CACHE[key] = load_replacement_model(run.model_dir(model), run.results / model / "transcoders", dtype=cfg.dtype,
                                             device=run.device, n_ctx=max(cfg.max_context, 16), scan=model)
    return _CACHE[key]


def graphs_config(run: Run, **overrides):
    from r1interp.graphs.config import GraphsConfig

    return GraphsConfig.from_dict({**(run.config.get("graphs") or {}), **overrides})


# ------------------------------------------------------------------ 1. the answer
@dataclass
class Answer:
    """A generation split into its segments; ``position`` is the token a graph explains."""

    model: str
    prompt: str
    ids: list[int]
    n_prompt: int
    segment: list[int]
    think_text: str
    answer_text: str
    position: int
    phase: str
    tokens: list[str] = field(default_factory=list)

    def segments(self) -> pd.DataFrame:
        """One row per segment: prompt / think / answer / other, with its text."""
        from r1interp.artifacts.segments import SEGMENT_NAMES

        rows, start = [], 0
        for i in range(1, len(self.segment) + 1):
            if i == len(self.segment) or self.segment[i] != self.segment[start]:
                rows.append({"segment": SEGMENT_NAMES.get(self.segment[start], str(self.segment[start])),
                             "tokens": f"{start}..{i - 1}", "text": "".join(self.tokens[start:i])})
                start = i
        return pd.DataFrame(rows)


def answer(run: Run, model: str, prompt: str, max_new_tokens: int | None = None) -> Answer:
    """The model's answer with its ``<think>``/answer segments (the prompts stage's code), decoded
    as the run decodes (config ``generation:``: temperature, top-p, seed; one sample), since the
    distilled reasoner loops under greedy decoding. ``max_new_tokens`` None: the run's."""
    from dataclasses import replace

    from r1interp.core.prompt_sets import Prompt
    from r1interp.prompts.generate import generate_all
    from r1interp.prompts.settings import settings_from_config

    m, tok = _hf(run, model)
    settings = replace(settings_from_config(run.config), n_samples=1)
    if max_new_tokens is not None:
        settings = replace(settings, max_new_tokens=int(max_new_tokens))
    df = generate_all(m, tok, [Prompt("notebook", "user", prompt, "", True)], run.template(model),
                      run.config.get("data", {}).get("system_prompt"), settings)
    r = df.iloc[0]
    ids = [int(t) for t in r["prompt_ids"]] + [int(t) for t in r["output_ids"]]
    segment = [int(s) for s in r["segment"]]
    ts, te = int(r["think_start"]), int(r["think_end"])
    think = tok.decode(ids[ts + 1:te], skip_special_tokens=True) if ts >= 0 else ""
    tokens = [tok.decode([t]) for t in ids]
    eos_at = next((i for i in range(len(r["prompt_ids"]), len(ids)) if ids[i] == tok.eos_token_id), -1)
    position, phase = explained_position(tokens, len(r["prompt_ids"]), ts, te, eos_at)
    return Answer(model, prompt, ids, len(r["prompt_ids"]), segment, think, str(r["answer_text"]), position, phase, tokens)


def explained_position(tokens: list[str], n_prompt: int, think_start: int, think_end: int, eos_at: int = -1) -> tuple[int, str]:
    """The token a graph explains, chosen as the graphs stage chooses it (:mod:`r1interp.graphs.phases`):
    the first token of the answer's content (inside ``\\boxed{}``), else the first think token that
    writes an intermediate result or starts a step, else the first generated token."""
    from r1interp.graphs.phases import GenerationSpan, plan_targets

    span = GenerationSpan(n_prompt, think_start, think_end, len(tokens), eos_at)
    if think_start >= 0 and think_end < 0:  # an unfinished trace: explain a think decision inside it
        span = GenerationSpan(n_prompt, think_start, eos_at if eos_at >= 0 else len(tokens), len(tokens), eos_at)
    targets, _ = plan_targets(tokens, span, None, ("result", "step"), 1)
    answer = [t for t in targets if t.phase == "answer"]
    pick = answer[0] if answer else (targets[0] if targets else None)
    if pick is None:
        return min(n_prompt, len(tokens) - 1), "prompt"
    return pick.position, pick.phase


# ------------------------------------------------------------------ 2. the attribution graph
def attribution_graph(run: Run, model: str, ids: list[int], position: int, **overrides) -> dict:
    """circuit-tracer graph of the token at ``position`` (input ``ids[:position]``) with our transcoders,
    pruned as the workflow prunes, feature nodes named by the run's labels (or automatic summaries)."""
    from r1interp.graphs.build import attribute_graph
    from r1interp.graphs.export import apply_clerps, graph_to_model
    from r1interp.graphs.finalize import load_clerps

    cfg = graphs_config(run, **overrides)
    rm, tok = _replacement(run, model)
    graph = attribute_graph(rm, ids[:position], cfg, ids[position] if position < len(ids) else None)
    data = json.loads(graph_to_model(graph, tok, f"notebook-{model}", model, cfg.node_threshold, cfg.edge_threshold).model_dump_json())
    apply_clerps(data, load_clerps(run.results / model / "labels.sqlite"))
    data["metadata"]["target"] = tok.decode([ids[position]]) if position < len(ids) else ""
    return data


def _feature_nodes(graph: dict) -> pd.DataFrame:
    rows = []
    for n in graph["nodes"]:
        if n["feature_type"] == FEATURE_TYPE:
            layer, feat, _ = n["node_id"].split("_")
            rows.append({"layer": int(layer), "feature": int(feat), "position": int(n["ctx_idx"]),
                         "activation": n.get("activation"), "influence": n.get("influence"), "label": n.get("clerp") or ""})
    return pd.DataFrame(rows, columns=["layer", "feature", "position", "activation", "influence", "label"])


def _top_example(run: Run, model: str, layer: int, feature: int) -> str:
    from r1interp.artifacts.features import examples_path

    path = examples_path(run.results / model / "features", layer)
    key = ("examples", f"{model}/{layer}")
    if key not in _CACHE:
        _CACHE[key] = pd.read_parquet(path, columns=["feature_id", "kind", "rank", "tokens", "max_idx", "act_max"]) if path.is_file() else None
    df = _CACHE[key]
    if df is None:
        return ""
    rows = df[(df.feature_id == feature) & (df.kind == "top")].sort_values("rank")
    if rows.empty:
        return ""
    r = rows.iloc[0]
    toks, i = list(r["tokens"]), int(r["max_idx"])
    return "".join(toks[max(0, i - 10):i]) + "[[" + toks[i] + "]]" + "".join(toks[i + 1:i + 4]) + f"  ({float(r['act_max']):.2f})"


def auto_label(run: Run, model: str, layer: int, feature: int) -> str:
    """The autointerp stage's automatic summary (``[auto] fires on ...; promotes ...``) of a feature the
    run did not label (the label database covers the selected features only)."""
    from r1interp.artifacts.features import examples_path, stats_path
    from r1interp.autointerp.inputs import read_examples, read_stats
    from r1interp.autointerp.summary import auto_summary

    feats = run.results / model / "features"
    key = ("stats", f"{model}/{layer}")
    if key not in _CACHE:
        path = stats_path(feats, layer)
        _CACHE[key] = read_stats(path) if path.is_file() else None
    stats = _CACHE[key]
    if stats is None or feature not in stats.index:
        return ""
    row = stats.loc[feature]
    exs = read_examples(examples_path(feats, layer), [feature]).get(feature, [])
    ups = [str(t) for t in (row["top_logits"] if row["top_logits"] is not None else [])][:10]
    downs = [str(t) for t in (row["bottom_logits"] if row["bottom_logits"] is not None else [])][:10]
    return "[auto] " + auto_summary(exs, ups, downs, float(row["frac_active"]))


def top_features(run: Run, model: str, graph: dict, n: int = 10) -> pd.DataFrame:
    """The graph's most influential feature nodes with their label (LLM label, else the ``[auto]`` summary),
    the token they sit on, and their top-activating example (max token in ``[[ ]]``)."""
    df = _feature_nodes(graph)
    if df.empty:
        return df
    tokens = graph["metadata"]["prompt_tokens"]
    df = df.sort_values("influence", ascending=True).head(n) if df["influence"].notna().any() else df.head(n)
    # circuit-tracer's influence is cumulative (lower = more important), so ascending order
    df = df.assign(token=[tokens[p] if p < len(tokens) else "" for p in df.position])
    df["label"] = [r.label or auto_label(run, model, int(r.layer), int(r.feature)) for r in df.itertuples()]
    df["top_example"] = [_top_example(run, model, int(r.layer), int(r.feature)) for r in df.itertuples()]
    return df.reset_index(drop=True)[["layer", "feature", "position", "token", "activation", "influence", "label", "top_example"]]


# ------------------------------------------------------------------ 3. the picture
def plot_graph(graph: dict, ax=None, max_edges: int = 400):
    """The pruned graph in a layer × position layout: tokens at the bottom, logits on top;
    blue edges excite, red inhibit, width ∝ |weight|. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    nodes = graph["nodes"]
    layers = [int(n["layer"]) for n in nodes if n["feature_type"] in (FEATURE_TYPE, "mlp reconstruction error")]
    top = (max(layers) + 2) if layers else 2
    cells: dict[tuple[int, int], list[str]] = {}
    for n in nodes:
        row = {"embedding": 0, "logit": top}.get(n["feature_type"], int(n["layer"]) + 1 if n["layer"] not in ("E", "") else 0)
        cells.setdefault((row, n["ctx_idx"]), []).append(n["node_id"])
    # a token position's column is as wide as its most crowded cell needs (≈4 nodes per unit)
    n_pos = 1 + max(n["ctx_idx"] for n in nodes)
    width = np.ones(n_pos)
    for (row, x), ids in cells.items():
        width[x] = max(width[x], len(ids) / 4)
    center = np.cumsum(width) - width / 2
    pos: dict[str, tuple[float, float]] = {}
    for (row, x), ids in cells.items():  # cell mates on a small grid inside their (layer, position) cell
        cols = min(len(ids), max(1, int(round(width[x] * 4))), 12)
        rows = -(-len(ids) // cols)
        for k, nid in enumerate(ids):
            c, r = k % cols, k // cols
            pos[nid] = (center[x] + (c - (cols - 1) / 2) * 0.85 * width[x] / cols, row + (r - (rows - 1) / 2) * 0.6 / rows)
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 4.5))
    else:
        fig = ax.figure
    links = sorted(graph["links"], key=lambda lk: -abs(lk["weight"]))[:max_edges]
    wmax = max((abs(lk["weight"]) for lk in links), default=1.0) or 1.0
    for lk in links:
        (x0, y0), (x1, y1) = pos[lk["source"]], pos[lk["target"]]
        ax.plot([x0, x1], [y0, y1], color="tab:blue" if lk["weight"] > 0 else "tab:red",
                lw=0.2 + 2.5 * abs(lk["weight"]) / wmax, alpha=0.35, zorder=1)
    colors = {FEATURE_TYPE: "tab:orange", "mlp reconstruction error": "grey", "embedding": "tab:green", "logit": "tab:purple"}
    for kind, c in colors.items():
        xy = np.array([pos[n["node_id"]] for n in nodes if n["feature_type"] == kind]).reshape(-1, 2)
        ax.scatter(xy[:, 0], xy[:, 1], s=28, c=c, edgecolors="k", linewidths=0.4, zorder=2, label=kind)
    tokens = graph["metadata"]["prompt_tokens"]
    used = sorted({n["ctx_idx"] for n in nodes})
    ax.set_xticks([center[p] for p in used], [tokens[p] if p < len(tokens) else str(p) for p in used], rotation=60, fontsize=7)
    ax.set_yticks(range(top + 1), ["tokens"] + [f"L{i}" for i in range(top - 1)] + ["logits"])
    ax.set_title(f"{graph['metadata']['slug']}: {len(nodes)} nodes, {len(graph['links'])} edges"
                 + (f" → {graph['metadata'].get('target')!r}" if graph["metadata"].get("target") else ""))
    ax.legend(fontsize=7, loc="upper left", ncols=4)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ 4. motifs against the null
def motif_profile(run: Run, graph: dict, n_samples: int | None = None, seed: int = 0) -> pd.DataFrame:
    """Triad (and signed) motif counts of the graph against the configured null ensemble: count,
    null mean ± std, Z and the significance profile SP — the motif stage's own analysis."""
    from r1interp.motifs.config import MotifsConfig
    from r1interp.motifs.loader import DEFAULT_EXCLUDE_TYPES
    from r1interp.motifs.loader import parse_attribution_graph
    from r1interp.motifs.profile import analyse_graph, graph_seed

    raw = dict(run.config.get("motifs") or {})
    if n_samples is not None:
        raw["triad_null"] = {**raw.get("triad_null", {}), "n_samples": n_samples}
        raw["signed"] = {**raw.get("signed", {}), "n_samples": n_samples}
    cfg = MotifsConfig.from_dict(raw)
    exclude = frozenset() if cfg.include_errors else DEFAULT_EXCLUDE_TYPES
    g = parse_attribution_graph(graph, cfg.threshold, exclude, source=graph["metadata"]["slug"])
    res = analyse_graph(g, cfg, graph_seed(seed, graph["metadata"]["slug"]))
    return res.profile[["family", "motif", "count", "null_mean", "null_std", "z", "sp"]] if not res.profile.empty else res.profile


def plot_motif_profiles(profiles: dict[str, pd.DataFrame], family: str = "signed"):
    """Significance profiles (SP) of several graphs side by side (e.g. reasoner vs base).

    Signed motifs by default: under the layer-configuration null an attribution DAG's triad SP has
    one degree of freedom (±(−½, −½, −½, +½)), so its bars say only the sign of Z(030T)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 3.2))
    names = None
    for i, (name, prof) in enumerate(profiles.items()):
        p = prof[prof.family == family]
        if p.empty:
            continue
        names = list(p.motif)
        x = np.arange(len(p))
        ax.bar(x + (i - (len(profiles) - 1) / 2) * 0.38, p.sp, width=0.38, label=name)
    if names:
        ax.set_xticks(np.arange(len(names)), names, rotation=60, fontsize=7)
    ax.axhline(0, c="k", lw=0.6)
    ax.set_ylabel("SP (Z / ||Z||)"), ax.set_title(f"{family} motif significance profile against the null"), ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ 5. the base model on the same tokens
def to_base_tokens(run: Run, ids: list[int]) -> list[int]:
    """The reasoner's tokens in the base's vocabulary (same positions): the run's token map when the
    data stage wrote one, else the identity after checking that both vocabularies agree."""
    try:  # the data stage's token map (one token stream per pair)
        from r1interp.artifacts.tokenmap import read_token_map
        from r1interp.data.tokenmap import derive_token_map
    except ImportError:
        derive_token_map = read_token_map = None
    path = run.results / run.base / "data" / "tokenmap.json"
    if read_token_map is not None and path.is_file():
        return [int(t) for t in read_token_map(path).apply(ids)]
    _, rt = _hf(run, run.reasoner)
    _, bt = _hf(run, run.base)
    if derive_token_map is not None:
        return [int(t) for t in derive_token_map(rt, bt).apply(ids)]
    rv, bv = rt.get_vocab(), bt.get_vocab()
    inv = {i: s for s, i in rv.items()}
    bad = [t for t in set(ids) if bv.get(inv.get(t)) != t]
    if bad:
        raise ValueError(f"tokens {bad[:5]} of {run.reasoner} have no same-id counterpart in {run.base}; no token map at {path}")
    return list(ids)
