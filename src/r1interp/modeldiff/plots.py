"""Figures of the model-diff analysis (matplotlib, Agg backend, returned unsaved)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _integer_x(*axes) -> None:
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_residual_diff(df: pd.DataFrame, title: str):
    """Left: mean ‖a − b‖ per layer (and the base's mean norm for scale). Right: relative diff by segment."""
    plt = _plt()
    fig, (ax_abs, ax_rel) = plt.subplots(1, 2, figsize=(11, 4.2))
    comparisons = list(dict.fromkeys(df["comparison"]))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, comp in enumerate(comparisons):
        sub = df[(df["comparison"] == comp) & (df["segment"] == "all")].sort_values("layer")
        label = f"{sub['model_a'].iloc[0]} − {sub['model_b'].iloc[0]}"
        c = colors[i % len(colors)]
        ax_abs.plot(sub["layer"], sub["mean_l2"], "o-", color=c, label=label)
        if i == 0:  # every comparison is against the same base: draw its norm once, for scale
            ax_abs.plot(sub["layer"], sub["mean_norm_b"], ":", color="grey", label=f"‖{sub['model_b'].iloc[0]}‖ (scale)")
        for j, (seg, g) in enumerate(df[df["comparison"] == comp].groupby("segment", sort=True)):
            g = g.sort_values("layer")
            style = "-" if i == 0 else "--"
            ax_rel.plot(g["layer"], g["mean_rel_l2"], style, marker="o" if seg == "all" else None, color=colors[j % len(colors)],
                        label=f"{comp}: {seg}", lw=2.2 if seg == "all" else 1.2)
    ax_abs.set_xlabel("layer")
    ax_abs.set_ylabel("mean L2 norm of residual difference")
    ax_abs.legend(fontsize=8)
    ax_abs.set_title("absolute")
    ax_rel.set_xlabel("layer")
    ax_rel.set_ylabel("mean ‖a − b‖ / ‖b‖")
    ax_rel.legend(fontsize=7, ncol=2)
    ax_rel.set_title("relative, by token segment")
    _integer_x(ax_abs, ax_rel)
    fig.suptitle(title)
    return fig


def plot_dictionary(summary: pd.DataFrame, matches: pd.DataFrame, threshold: float, title: str):
    """Left: fraction of shared features per layer and model. Right: best-cosine histograms."""
    plt = _plt()
    fig, (ax_bar, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.2))
    models = list(dict.fromkeys(summary["model"]))
    layers = sorted(summary["layer"].unique())
    width = 0.8 / max(1, len(models))
    for i, model in enumerate(models):
        sub = summary[summary["model"] == model].set_index("layer").reindex(layers)
        ax_bar.bar(np.arange(len(layers)) + i * width, sub["frac_shared"], width, label=model)
        ax_hist.hist(matches.loc[matches["model"] == model, "cosine"], bins=50, range=(-0.2, 1.0), alpha=0.55, label=model)
    ax_bar.set_xticks(np.arange(len(layers)) + width * (len(models) - 1) / 2, [str(l) for l in layers])
    ax_bar.set_xlabel("layer")
    ax_bar.set_ylabel(f"fraction shared (best cosine ≥ {threshold:g})")
    ax_bar.set_ylim(0, 1.02)
    ax_bar.legend(fontsize=8)
    ax_hist.axvline(threshold, color="k", ls="--", lw=1, label="threshold")
    ax_hist.set_xlabel("best decoder cosine in the other dictionary")
    ax_hist.set_ylabel("features (all layers)")
    ax_hist.legend(fontsize=8)
    fig.suptitle(title)
    return fig
