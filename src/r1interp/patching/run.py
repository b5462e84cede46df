"""Activation patching over a model's own traces: pairs → layer sweep → tables and heatmap."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn
from tqdm import tqdm

from r1interp.artifacts.generations import Trace
from r1interp.artifacts.write import write_figure, write_json, write_parquet
from r1interp.models import free_memory, is_oom
from r1interp.utils import check_fields
from r1interp.patching.effects import HEADLINE_SET, POSITION_SETS, pair_effects, position_role
from r1interp.patching.pairs import PairConfig, PairOutcome, build_pairs

log = logging.getLogger(__name__)

EFFECTS_FILE = "effects.parquet"
PAIRS_FILE = "pairs.parquet"
HEATMAP_FILE = "heatmap.png"
SUMMARY_FILE = "summary.json"

PAIR_DTYPES = {
    "pair_id": "string",
    "prompt_id": "string",
    "category": "string",
    "status": "string",
    "reason": "string",
    "n_edits_tried": "int64",
    "n_tokens": "int64",
    "edit_lo": "Int64",
    "edit_hi": "Int64",
    "length_delta": "Int64",
    "clean_value": "Int64",
    "corrupt_value": "Int64",
    "decision_pos": "Int64",
    "clean_token": "Int64",
    "corrupt_token": "Int64",
    "clean_token_str": "string",
    "corrupt_token_str": "string",
    "ld_clean": "float64",
    "ld_corrupt": "float64",
}
EFFECT_COLUMNS = ["pair_id", "layer", "position_set", "role", "norm_logit_diff", "logit_diff", "n_positions", "n_edited_left_out"]


@dataclass
class PatchingConfig:
    pairs: PairConfig = field(default_factory=PairConfig)
    max_pairs: int = 32
    """Stop after this many kept pairs (0 = use every trace)."""
    only_correct: bool = False
    position_sets: tuple[str, ...] = ("reasoning_end", "answer")
    n_reasoning_tokens: int = 4
    """Size of the "reasoning_end" window: the last N think tokens, ``</think>`` included (edited tokens in it are left out)."""
    batch_size: int = 16
    """Patched forwards per batch (rows = (layer, position set) interventions)."""

    def __post_init__(self) -> None:
        bad = [p for p in self.position_sets if p not in POSITION_SETS]
        if bad:
            raise ValueError(f"position_sets {bad} unknown; allowed: {list(POSITION_SETS)}")
        check_fields("patching setting", self, {"max_pairs": self.max_pairs >= 0, "n_reasoning_tokens": self.n_reasoning_tokens >= 1,
                                                 "batch_size": self.batch_size >= 1})


@dataclass
class PatchingResult:
    effects: pd.DataFrame
    pairs: pd.DataFrame


def run_patching(model: nn.Module, tokenizer, traces: list[Trace], cfg: PatchingConfig) -> PatchingResult:
    n_layers = model.config.num_hidden_layers
    layers = list(range(n_layers))
    outcomes = build_pairs(model, tokenizer, traces, cfg.pairs, cfg.max_pairs)
    rows: list[dict] = []
    pair_rows: list[dict] = []
    for outcome in tqdm(outcomes, desc="patching", unit="pair"):
        rec = _pair_record(outcome)
        if outcome.pair is not None:
            try:
                eff = pair_effects(model, outcome.pair, layers, list(cfg.position_sets), cfg.n_reasoning_tokens, cfg.batch_size)
                rows.extend(eff.rows)
                rec.update(ld_clean=eff.ld_clean, ld_corrupt=eff.ld_corrupt)
            except RuntimeError as err:
                if not is_oom(err):
                    raise
                free_memory()
                log.warning("skip pair %s: out of memory while patching", outcome.prompt_id)
                rec.update(status="dropped", reason="oom")
        pair_rows.append(rec)
    effects = pd.DataFrame(rows, columns=EFFECT_COLUMNS)
    effects = effects.astype({"layer": "int64", "role": "string", "n_positions": "int64", "n_edited_left_out": "int64", "norm_logit_diff": "float64",
                              "logit_diff": "float64"})
    pairs = pd.DataFrame(pair_rows, columns=list(_pair_record(PairOutcome("", "", None, "")).keys())).astype(PAIR_DTYPES)
    return PatchingResult(effects, pairs)


def _pair_record(o: PairOutcome) -> dict:
    p = o.pair
    return {
        "pair_id": o.prompt_id,
        "prompt_id": o.prompt_id,
        "category": o.category,
        "status": "kept" if p is not None else "dropped",
        "reason": o.reason if p is None else None,
        "n_edits_tried": o.n_edits_tried,
        "n_tokens": o.n_tokens,
        "edit_lo": p.edit_lo if p else None,
        "edit_hi": p.edit_hi if p else None,
        "length_delta": p.delta if p else None,
        "clean_value": p.clean_value if p else None,
        "corrupt_value": p.corrupt_value if p else None,
        "decision_pos": p.decision_pos if p else None,
        "clean_token": p.clean_token if p else None,
        "corrupt_token": p.corrupt_token if p else None,
        "clean_token_str": p.extra.get("clean_token_str") if p else None,
        "corrupt_token_str": p.extra.get("corrupt_token_str") if p else None,
        "ld_clean": np.nan,
        "ld_corrupt": np.nan,
    }


def summarise(result: PatchingResult, cfg: PatchingConfig, model_name: str) -> dict:
    pairs = result.pairs
    kept = pairs[pairs["status"] == "kept"]
    reasons = pairs.loc[pairs["status"] == "dropped", "reason"].value_counts().to_dict()
    per_layer = (
        result.effects.groupby(["position_set", "layer"])["norm_logit_diff"].agg(["mean", "std", "count"]).reset_index()
        if len(result.effects)
        else pd.DataFrame(columns=["position_set", "layer", "mean", "std", "count"])
    )
    return {
        "model": model_name,
        "headline_position_set": HEADLINE_SET,
        "roles": {name: position_role(name) for name in cfg.position_sets},
        "read_position_patched": False,
        "n_candidates": int(len(pairs)),
        "n_kept": int(len(kept)),
        "n_dropped": int(len(pairs) - len(kept)),
        "dropped_by_reason": {str(k): int(v) for k, v in reasons.items()},
        "mean_norm_logit_diff": [
            {"position_set": r.position_set, "role": position_role(r.position_set), "layer": int(r.layer), "mean": float(r.mean), "std": float(r.std) if pd.notna(r.std) else None, "n": int(r.count)}
            for r in per_layer.itertuples(index=False)
        ],
        "config": asdict(cfg),
    }


def set_label(name: str) -> str:
    """Plot label of a position set: the headline measure, or a labelled sanity check."""
    return f"patch at {name} (headline)" if position_role(name) == "headline" else f"patch at {name} (sanity check)"


def plot_heatmap(result: PatchingResult, position_sets: tuple[str, ...], n_layers: int, title: str):
    """Per-pair heatmaps (pairs × layers), one panel per position set, and the mean per layer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.ticker import MaxNLocator

    eff = result.effects
    pair_ids = list(dict.fromkeys(eff["pair_id"])) if len(eff) else []
    n_sets = len(position_sets)
    height = min(12.0, 1.5 + 0.18 * max(1, len(pair_ids)))
    fig, axes = plt.subplots(1, n_sets + 1, figsize=(4.2 * (n_sets + 1), height + 1.0), squeeze=False, layout="constrained")
    axes = axes[0]
    if not pair_ids:
        for ax in axes:
            ax.text(0.5, 0.5, "no validated pairs", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
        fig.suptitle(title)
        return fig
    vals = eff["norm_logit_diff"].to_numpy()
    lo, hi = np.nanmin(vals) if np.isfinite(vals).any() else 0.0, np.nanmax(vals) if np.isfinite(vals).any() else 1.0
    norm = TwoSlopeNorm(vcenter=0.0, vmin=min(-0.1, lo), vmax=max(1.0, hi))
    for i, (ax, name) in enumerate(zip(axes[:-1], position_sets)):
        sub = eff[eff["position_set"] == name]
        grid = sub.pivot(index="pair_id", columns="layer", values="norm_logit_diff").reindex(index=pair_ids, columns=range(n_layers))
        im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="RdBu_r", norm=norm, interpolation="nearest")
        ax.set_title(set_label(name))
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if i > 0:
            ax.set_yticks([])
        elif len(pair_ids) <= 40:
            ax.set_ylabel("pair")
            ax.set_yticks(range(len(pair_ids)), pair_ids, fontsize=6)
        else:
            ax.set_ylabel("pair")
            ax.set_yticks([])
    fig.colorbar(im, ax=list(axes[:-1]), label="normalised logit difference", shrink=0.8)
    ax = axes[-1]
    for name in position_sets:
        g = eff[eff["position_set"] == name].groupby("layer")["norm_logit_diff"]
        mean, sem = g.mean(), g.sem()
        ax.errorbar(mean.index, mean.to_numpy(), yerr=sem.to_numpy(), marker="o", capsize=2, label=set_label(name),
                    ls="-" if position_role(name) == "headline" else ":")
    ax.axhline(0, color="grey", lw=0.8)
    ax.axhline(1, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("layer")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean normalised logit difference")
    ax.set_title(f"mean over {len(pair_ids)} pairs (± s.e.m.)")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    return fig


def write_patching(result: PatchingResult, out_dir: str | Path, cfg: PatchingConfig, model_name: str, n_layers: int) -> None:
    out_dir = Path(out_dir)
    write_parquet(result.effects, out_dir / EFFECTS_FILE)
    write_parquet(result.pairs, out_dir / PAIRS_FILE)
    write_json(summarise(result, cfg, model_name), out_dir / SUMMARY_FILE)
    write_figure(plot_heatmap(result, cfg.position_sets, n_layers, f"{model_name}: residual patching clean → corrupted (read position never patched)"), out_dir / HEATMAP_FILE)
