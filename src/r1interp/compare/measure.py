"""What a comparison measures, per motif family: the significance profile, or Z(030T) where SP is degenerate.

On a layered DAG under a degree-preserving null that keeps the graph acyclic (the
layer-configuration null), every pair of edges that share a node is an out-star (021D), an in-star
(021U), a chain (021C) or part of a feed-forward loop (030T), so

    021D = Σ C(out, 2) − FFL,   021U = Σ C(in, 2) − FFL,   021C = Σ in · out − FFL,

with constants the null keeps fixed. The null std of all four is the FFL's, and
``Z(021D) = Z(021U) = Z(021C) = −Z(030T)``: the triad SP is always ±(−½, −½, −½, +½) and carries
only the *sign* of FFL enrichment. Such a family has one degree of freedom, so a comparison tests it
on ``Z(030T)`` (size-dependent, but paired graphs explain the same token under the same node
budget). Whether a graph is in that case is read off its own census and null means (no other
connected triad occurs in the graph or its null), not assumed from the null's name: the
configuration null creates cycles and mutual edges and keeps more degrees of freedom.
"""

from __future__ import annotations

import pandas as pd

from r1interp.motifs import labels as L

DAG_TRIADS = ("021D", "021U", "021C", "030T")
FFL = "030T"
Z_CAP = 100.0
SP = "SP"
Z_FFL = "Z(030T)"


def one_dof_graphs(profiles: pd.DataFrame) -> pd.Series:
    """Per ``(source, graph_id)``: True where the graph's triad family has one degree of freedom.

    That is: no connected triad other than the four DAG triads occurs in the graph (count) or in its
    null ensemble (null mean).
    """
    tri = profiles[profiles["family"] == "triad"]
    keys = [c for c in ("source", "graph_id") if c in tri.columns]
    if tri.empty:
        return pd.Series(dtype=bool)
    connected = {L.TRIAD_LABELS[i] for i in L.CONNECTED}
    other = tri[tri["motif"].isin(connected - set(DAG_TRIADS))]
    occurs = (other["count"].fillna(0) != 0) | (other["null_mean"].fillna(0) != 0)
    any_other = occurs.groupby([other[k] for k in keys]).any() if len(other) else pd.Series(dtype=bool)
    graphs = tri.drop_duplicates(keys).set_index(keys).index
    return ~any_other.reindex(graphs, fill_value=False).astype(bool)


def triad_measure(profiles: pd.DataFrame) -> dict[str, str]:
    """The measure of the triad family per null model: ``Z(030T)`` if every graph under that null has one
    degree of freedom, else ``SP``."""
    tri = profiles[profiles["family"] == "triad"]
    if tri.empty:
        return {}
    one = one_dof_graphs(tri)
    keys = [c for c in ("source", "graph_id") if c in tri.columns]
    null_of = tri.drop_duplicates(keys).set_index(keys)["null_model"]
    return {str(n): (Z_FFL if bool(one.reindex(g.index).all()) else SP) for n, g in null_of.groupby(null_of)}


def with_measure(profiles: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` with ``value`` (what comparisons test) and ``measure`` (its name) columns.

    Signed and size-4 families: ``value = sp``. Triad family under a one-degree-of-freedom null: only
    the 030T row is kept, ``value = z`` (±inf capped at ±100); otherwise ``value = sp``.
    """
    out = profiles.copy()
    out["measure"] = SP
    out["value"] = out["sp"]
    measures = triad_measure(out)
    if not measures:
        return out
    tri = out["family"] == "triad"
    z_nulls = [n for n, m in measures.items() if m == Z_FFL]
    degenerate = tri & out["null_model"].astype(str).isin(z_nulls)
    out = out[~(degenerate & (out["motif"] != FFL))].copy()
    ffl = (out["family"] == "triad") & out["null_model"].astype(str).isin(z_nulls)
    out.loc[ffl, "measure"] = Z_FFL
    out.loc[ffl, "value"] = out.loc[ffl, "z"].clip(-Z_CAP, Z_CAP)
    return out


def measure_of(df: pd.DataFrame) -> pd.Series:
    """``family → measure`` of a table that carries a ``measure`` column (first value per family)."""
    return df.groupby("family")["measure"].first() if len(df) else pd.Series(dtype=str)
