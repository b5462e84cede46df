"""Pareto plot: mean L0 (sparsity) vs mean CE increase (faithfulness), one marker per grid point."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from r1interp.artifacts.write import write_figure


def pareto_png(points: pd.DataFrame, selected_point: str, out: str | Path, ce_target: float, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=120)
    for ef, grp in points.groupby("expansion_factor"):
        ok = grp[grp["healthy"]]
        line = ax.scatter(ok["l0"], ok["ce_increase"], s=40, label=f"expansion {ef}", alpha=0.85)
        bad = grp[~grp["healthy"]]
        ax.scatter(bad["l0"], bad["ce_increase"], s=40, marker="x", color=line.get_facecolor()[0], alpha=0.85)
    front = points[points["pareto"]].sort_values("l0")
    ax.plot(front["l0"], front["ce_increase"], "k--", lw=1, label="Pareto frontier (x: too many dead latents)")
    sel = points[points["point"] == selected_point]
    ax.scatter(sel["l0"], sel["ce_increase"], s=220, facecolors="none", edgecolors="red", lw=2, label=f"selected: {selected_point}")
    ax.axhline(ce_target, color="grey", lw=0.8, ls=":", label=f"target {ce_target} nats")
    for _, r in points.iterrows():
        ax.annotate(r["point"].split("_lr")[0], (r["l0"], r["ce_increase"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("mean L0 (active latents per token)")
    ax.set_ylabel("mean CE increase over pilot layers (nats)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    write_figure(fig, out, dpi="figure", bbox_inches=None)
