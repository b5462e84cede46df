"""Reasoning-focus heads over a model's own generated traces: loop, skip rules, outputs."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from torch import Tensor, nn
from tqdm import tqdm

from r1interp.artifacts.generations import Trace
from r1interp.artifacts.segments import ANSWER, THINK
from r1interp.artifacts.write import write_figure, write_json, write_parquet
from r1interp.heads.attention import trace_head_scores
from r1interp.heads.scores import rank_heads, uniform_baseline
from r1interp.models import free_memory, is_oom
from r1interp.utils import check_fields

log = logging.getLogger(__name__)

HEADS_FILE = "heads.parquet"
PROFILE_FILE = "profile.png"
TOP_FILE = "top_heads.json"


@dataclass
class HeadsConfig:
    max_len: int = 2048
    """Traces longer than this (prompt + output tokens) are skipped and logged."""
    max_traces: int = 0
    """Use at most this many usable traces (0 = all)."""
    only_correct: bool = False
    """Restrict to traces whose answer the checker marked correct."""
    top_k: int = 20
    """Length of the ranked list in top_heads.json."""

    def __post_init__(self) -> None:
        check_fields("heads setting", self, {"max_len": self.max_len >= 2, "max_traces": self.max_traces >= 0, "top_k": self.top_k >= 1})


@dataclass
class HeadsResult:
    table: pd.DataFrame
    n_layers: int
    n_heads: int
    skipped: list[dict]


def skip_reason(trace: Trace, max_len: int) -> str | None:
    """Why a trace cannot be scored (None when it can)."""
    if len(trace.ids) > max_len:
        return "too_long"
    if not (trace.segment == THINK).any():
        return "no_think"
    if not (trace.segment == ANSWER).any():
        return "no_answer"
    return None


def compute_heads(model: nn.Module, traces: list[Trace], cfg: HeadsConfig) -> HeadsResult:
    cfg_model = model.config
    n_layers, n_heads = cfg_model.num_hidden_layers, cfg_model.num_attention_heads
    scores: list[Tensor] = []
    baselines: list[float] = []
    skipped: list[dict] = []
    for trace in tqdm(traces, desc="heads", unit="trace"):
        if cfg.max_traces and len(scores) >= cfg.max_traces:
            break
        reason = skip_reason(trace, cfg.max_len)
        if reason is None:
            try:
                scores.append(trace_head_scores(model, trace.ids, trace.segment))
                baselines.append(uniform_baseline(trace.segment))
            except RuntimeError as err:
                if not is_oom(err):
                    raise
                free_memory()
                reason = "oom"
        if reason is not None:
            log.warning("skip trace %s (%d tokens): %s", trace.prompt_id, len(trace.ids), reason)
            skipped.append({"prompt_id": trace.prompt_id, "n_tokens": int(len(trace.ids)), "reason": reason})
    log.info("scored %d traces, skipped %d", len(scores), len(skipped))
    return HeadsResult(rank_heads(scores, baselines), n_layers, n_heads, skipped)


def plot_profile(result: HeadsResult, title: str):
    """Layer × head heatmap of the score, and the per-layer max/mean profile with the uniform baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_map, ax_prof) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.1, 1]})
    df = result.table
    if df.empty:
        for ax in (ax_map, ax_prof):
            ax.text(0.5, 0.5, "no usable traces", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
    else:
        grid = np.full((result.n_layers, result.n_heads), np.nan)
        grid[df["layer"].to_numpy(), df["head"].to_numpy()] = df["score"].to_numpy()
        im = ax_map.imshow(grid, aspect="auto", origin="lower", cmap="viridis", vmin=0, vmax=max(1e-9, np.nanmax(grid)))
        ax_map.set_xlabel("head")
        ax_map.set_ylabel("layer")
        ax_map.set_title("answer → reasoning attention")
        fig.colorbar(im, ax=ax_map, label="mean attention mass")
        layers = np.arange(result.n_layers)
        ax_prof.plot(layers, np.nanmax(grid, 1), "o-", label="max over heads")
        ax_prof.plot(layers, np.nanmean(grid, 1), "s--", label="mean over heads")
        ax_prof.axhline(df["baseline"].iloc[0], color="grey", ls=":", label="uniform-attention baseline")
        ax_prof.set_xlabel("layer")
        ax_prof.set_ylabel("attention mass on reasoning tokens")
        ax_prof.set_ylim(0, 1.02)
        ax_prof.legend(fontsize=8)
        ax_prof.set_title(f"per-layer profile (n={int(df['n_traces'].iloc[0])} traces)")
        from matplotlib.ticker import MaxNLocator

        for ax in (ax_map, ax_prof):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax_map.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    return fig


def write_heads(result: HeadsResult, out_dir: str | Path, model_name: str, cfg: HeadsConfig) -> None:
    out_dir = Path(out_dir)
    df = result.table
    n_traces = int(df["n_traces"].iloc[0]) if len(df) else 0
    top = df.head(cfg.top_k)
    write_parquet(df, out_dir / HEADS_FILE)
    write_json(
        {
            "model": model_name,
            "metric": "mean attention mass from answer tokens (segment 3) to reasoning tokens (segment 2)",
            "n_traces": n_traces,
            "n_skipped": len(result.skipped),
            "skipped": result.skipped,
            "config": asdict(cfg),
            "heads": [
                {k: (int(v) if k in ("rank", "layer", "head") else float(v)) for k, v in rec.items() if k in ("rank", "layer", "head", "score", "lift")}
                for rec in top.to_dict("records")
            ],
        },
        out_dir / TOP_FILE,
    )
    write_figure(plot_profile(result, f"{model_name}: reasoning-focus heads"), out_dir / PROFILE_FILE)
