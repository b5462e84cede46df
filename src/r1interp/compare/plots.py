"""Figures of the comparison stage (matplotlib, Agg backend; written atomically as PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from scipy.cluster.hierarchy import dendrogram  # noqa: E402

from r1interp.artifacts.write import atomic_path  # noqa: E402

STAGE_COLORS = ["#777777", "#2166ac", "#4daf4a", "#984ea3", "#e08214", "#b2182b", "#35978f", "#8c510a"]


def _save(fig, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def _empty(path: str | Path, title: str, why: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center")
    _save(fig, path)


def heatmap(mat: pd.DataFrame, path: str | Path, title: str, limit: float | None = None, cbar: str = "") -> None:
    """Rows × motifs heatmap, diverging around 0, values annotated when the grid is small."""
    if mat.empty:
        return _empty(path, title, "no profiles")
    x = mat.to_numpy(np.float64)
    lim = limit or max(float(np.nanmax(np.abs(x))) if x.size else 1.0, 1e-9)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * mat.shape[1], 1.2 + 0.35 * mat.shape[0]))
    im = ax.imshow(np.clip(x, -lim, lim), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(mat.shape[1]), mat.columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(mat.shape[0]), mat.index, fontsize=8)
    if mat.size <= 400:
        for i in range(mat.shape[0]):
            for j in range(mat.shape[1]):
                ax.text(j, i, f"{x[i, j]:.2f}" if abs(x[i, j]) < 10 else f"{x[i, j]:.0f}", ha="center", va="center", fontsize=6)
    fig.colorbar(im, ax=ax, label=cbar, shrink=0.8)
    ax.set_title(title)
    _save(fig, path)


def sp_profiles(lines: dict[str, pd.DataFrame], path: str | Path, title: str = "Significance profiles") -> None:
    """One panel per family; one line per group (mean SP ± std across its graphs)."""
    panels = [(fam, df) for fam, df in lines.items() if not df.empty]
    if not panels:
        return _empty(path, title, "no profiles")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4), squeeze=False)
    for ax, (fam, df) in zip(axes[0], panels):
        motifs = df.sort_values("motif_index")["motif"].drop_duplicates().tolist()
        for label, grp in df.groupby("group", sort=True):
            grp = grp.set_index("motif").reindex(motifs)
            ax.errorbar(range(len(motifs)), grp["mean_sp"], yerr=grp["std_sp"], marker="o", ms=3, capsize=2, label=label)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xticks(range(len(motifs)), motifs, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("SP")
        ax.set_title(f"{title} ({fam})")
        ax.legend(fontsize=7)
    _save(fig, path)


def similarity(sim: pd.DataFrame, link: np.ndarray, path: str | Path, title: str = "Cosine similarity of task profiles") -> None:
    """Dendrogram (average linkage on 1 − cosine) beside the similarity matrix in leaf order."""
    if sim.empty:
        return _empty(path, title, "no profiles")
    n = len(sim)
    fig, (ax_d, ax_m) = plt.subplots(1, 2, figsize=(4 + 0.45 * n * 2, 1.5 + 0.45 * n), gridspec_kw={"width_ratios": [1, 2], "wspace": 0.02})
    order = list(sim.index)
    if n >= 2 and len(link):
        dn = dendrogram(link, labels=list(sim.index), orientation="left", ax=ax_d, color_threshold=0, no_labels=True)
        order = dn["ivl"][::-1]  # leaves run bottom-up; matrix rows top-down
        ax_d.set_yticks([])
        ax_d.set_xlabel("1 − cosine")
    else:
        ax_d.axis("off")
    m = sim.loc[order, order].to_numpy()
    im = ax_m.imshow(m, cmap="viridis", vmin=-1, vmax=1, aspect="auto")  # rows line up with the dendrogram
    ax_m.set_xticks(range(n), order, rotation=60, ha="right", fontsize=7)
    ax_m.set_yticks(range(n), order, fontsize=7)
    ax_m.yaxis.tick_right()  # labels clear of the dendrogram on the left
    if n <= 20:
        for i in range(n):
            for j in range(n):
                ax_m.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=6, color="w" if m[i, j] < 0.3 else "k")
    fig.colorbar(im, cax=ax_m.inset_axes([0.0, 1.02, 1.0, 0.025]), orientation="horizontal", ticklocation="top")
    fig.suptitle(title, y=1.05)
    _save(fig, path)


def ffl_cascade(instances: pd.DataFrame, path: str | Path, title: str, tier_names: list[str] | None = None) -> None:
    """Top FFLs of one graph in a layer (y) × token position (x) layout.

    Each FFL is drawn source → mediator → target plus the direct source → target edge; colour =
    processing stage of the mediator, dashed red = inhibitory edge, line width ∝ |w|.
    """
    if instances.empty:
        return _empty(path, title, "no feed-forward loops in this graph")
    fig, ax = plt.subplots(figsize=(9, 6))
    pos: dict[str, tuple[float, float]] = {}
    for role in ("source", "mediator", "target"):
        for node, layer, p in zip(instances[role], instances[f"{role}_layer"], instances[f"{role}_pos"]):
            pos.setdefault(node, (float(p), float(layer)))
    # separate nodes that share a (position, layer) cell
    cells: dict[tuple[float, float], list[str]] = {}
    for node, xy in pos.items():
        cells.setdefault(xy, []).append(node)
    for (x, y), nodes in cells.items():
        for k, node in enumerate(sorted(nodes)):
            pos[node] = (x + (k - (len(nodes) - 1) / 2) * 0.18, y)
    wmax = float(instances[["w_source_mediator", "w_mediator_target", "w_source_target"]].abs().to_numpy().max()) or 1.0
    for _, r in instances.iterrows():
        color = STAGE_COLORS[int(r["mediator_tier"]) % len(STAGE_COLORS)]
        for a, b, w, rad in (("source", "mediator", r["w_source_mediator"], 0.0), ("mediator", "target", r["w_mediator_target"], 0.0), ("source", "target", r["w_source_target"], 0.25)):
            (x0, y0), (x1, y1) = pos[r[a]], pos[r[b]]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", color="#d62728" if w < 0 else color, lw=0.6 + 2.4 * abs(w) / wmax, ls="--" if w < 0 else "-", connectionstyle=f"arc3,rad={rad}", alpha=0.85))
    xs, ys = zip(*pos.values())
    ax.scatter(xs, ys, s=40, c="white", edgecolors="k", zorder=3)
    for node, (x, y) in pos.items():
        ax.text(x, y + 0.12, node, fontsize=6, ha="center", zorder=4)
    ax.set_xlabel("token position")
    ax.set_ylabel("layer (−1 = embeddings)")
    ax.set_title(title)
    if tier_names:
        used = sorted(set(instances["mediator_tier"].astype(int)))
        handles = [Line2D([0], [0], color=STAGE_COLORS[t % len(STAGE_COLORS)], lw=2, label=f"stage: {tier_names[t]}") for t in used]
        handles.append(Line2D([0], [0], color="#d62728", ls="--", lw=2, label="inhibitory edge"))
        ax.legend(handles=handles, fontsize=7, loc="upper left")
    ax.margins(0.08)
    _save(fig, path)
