"""Task profiles (mean SP per category), their cosine similarities and average-linkage clustering.

A *profile* is one (source, phase, category) group of graphs — ``source`` is a model of the run
or an external graph collection — summarised by its mean significance profile (Milo 2004:
networks with similar SP vectors form "superfamilies").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import squareform

from r1interp.artifacts import motif_labels as L

PROFILE_KEYS = ["source", "phase", "category"]


def informative(profiles: pd.DataFrame) -> pd.DataFrame:
    """Drop rows that carry no information: unconnected triads (always 0) and NaN-SP aggregates."""
    drop = (profiles["family"] == "triad") & profiles["motif"].isin([L.TRIAD_LABELS[i] for i in L.UNCONNECTED])
    return profiles[~drop & profiles["sp"].notna()]


def profile_label(df: pd.DataFrame) -> pd.Series:
    return df["source"].astype(str) + ":" + df["phase"].astype(str) + ":" + df["category"].astype(str)


def category_profiles(profiles: pd.DataFrame) -> pd.DataFrame:
    """Mean/std SP and mean Z per (source, phase, category, family, motif); Z's ±inf are capped at ±100."""
    df = informative(profiles).copy()
    df["z_capped"] = df["z"].clip(-100, 100)
    g = df.groupby(PROFILE_KEYS + ["family", "motif", "motif_index"], sort=True)
    out = g.agg(n_graphs=("graph_id", "nunique"), mean_sp=("sp", "mean"), std_sp=("sp", "std"), mean_z=("z_capped", "mean"), mean_count=("count", "mean")).reset_index()
    out["std_sp"] = out["std_sp"].fillna(0.0)
    out["profile"] = profile_label(out)
    return out


def profile_matrix(cat: pd.DataFrame, family: str = "triad", value: str = "mean_sp") -> pd.DataFrame:
    """Profiles × motifs matrix (rows: profile labels, columns in motif_index order)."""
    sub = cat[cat["family"] == family]
    mat = sub.pivot_table(index="profile", columns="motif_index", values=value, aggfunc="mean").sort_index(axis=1)
    names = sub.drop_duplicates("motif_index").set_index("motif_index")["motif"]
    mat.columns = [names[i] for i in mat.columns]
    return mat.fillna(0.0)


def cosine_matrix(mat: pd.DataFrame) -> pd.DataFrame:
    """Cosine similarity of the rows (a zero row has similarity 0 to others and 1 to itself)."""
    x = mat.to_numpy(np.float64)
    norm = np.linalg.norm(x, axis=1)
    safe = np.where(norm > 0, norm, 1.0)
    sim = (x / safe[:, None]) @ (x / safe[:, None]).T
    sim[norm == 0, :] = 0.0
    sim[:, norm == 0] = 0.0
    np.fill_diagonal(sim, 1.0)
    return pd.DataFrame(np.clip(sim, -1.0, 1.0), index=mat.index, columns=mat.index)


def average_linkage(sim: pd.DataFrame, method: str = "average") -> tuple[np.ndarray, list[str]]:
    """Hierarchical clustering on cosine distance ``1 − similarity``; returns (linkage, leaf order)."""
    names = list(sim.index)
    if len(names) < 2:
        return np.zeros((0, 4)), names
    dist = np.clip(1.0 - sim.to_numpy(np.float64), 0.0, 2.0)
    dist = (dist + dist.T) / 2
    np.fill_diagonal(dist, 0.0)
    z = linkage(squareform(dist, checks=False), method=method)
    return z, [names[i] for i in leaves_list(z)]


def similarity_long(sim: pd.DataFrame) -> pd.DataFrame:
    rows = [{"profile_a": a, "profile_b": b, "cosine": float(sim.loc[a, b])} for a in sim.index for b in sim.columns]
    return pd.DataFrame(rows, columns=["profile_a", "profile_b", "cosine"])
