"""The triad family under the layer-preserving null has one degree of freedom: comparisons test Z(030T).

On a layered DAG every pair of edges sharing a node is an out-star, an in-star, a chain or part of an
FFL, so 021D = Σ C(out,2) − FFL, 021U = Σ C(in,2) − FFL and 021C = Σ in·out − FFL with constants a
degree-preserving, acyclic null keeps fixed. The triad SP is then always ±(−½, −½, −½, +½): a table of
triad SP differences would compare only the sign of FFL enrichment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from r1interp.compare.measure import SP, Z_FFL, one_dof_graphs, with_measure
from r1interp.compare.pipeline import CompareConfig, Source, model_vs_base
from r1interp.motifs import labels as L
from r1interp.motifs.config import MotifsConfig
from r1interp.motifs.loader import parse_attribution_graph
from r1interp.motifs.profile import analyse_graph, graph_seed
from r1interp.motifs.synthetic import random_attribution_graph

DAG4 = ["021D", "021U", "021C", "030T"]


def analysed(seed: int, null: str, graph_id: str = "g", n_edges: int = 160):
    cfg = MotifsConfig.from_dict({"triad_null": {"model": null, "n_samples": 60}, "signed": {"enabled": False}})
    g = parse_attribution_graph(random_attribution_graph(n_layers=5, n_edges=n_edges, seed=seed), cfg.threshold)
    res = analyse_graph(g, cfg, graph_seed(0, graph_id))
    return g, res


def test_dag_triads_are_fixed_by_degrees_minus_ffls():
    g, res = analysed(1, "layer_configuration")
    census = dict(zip(L.TRIAD_LABELS, res.census))
    out = np.array(g.outdegree())
    inn = np.array(g.indegree())
    assert census["021D"] + census["030T"] == int((out * (out - 1) // 2).sum())
    assert census["021U"] + census["030T"] == int((inn * (inn - 1) // 2).sum())
    assert census["021C"] + census["030T"] == int((inn * out).sum())


def test_layer_null_gives_the_dag_triads_one_z_and_a_degenerate_sp():
    _, res = analysed(2, "layer_configuration")
    tri = res.profile[res.profile["family"] == "triad"].set_index("motif")
    z = tri.loc[DAG4, "z"].to_numpy()
    assert np.isfinite(z).all() and abs(z[3]) > 0
    assert np.allclose(z[:3], -z[3])  # Z(021D) = Z(021U) = Z(021C) = −Z(030T)
    assert np.allclose(np.abs(tri.loc[DAG4, "sp"]), 0.5)  # SP: only the sign of Z(030T)


def profiles_of(source: str, graphs: list[tuple[str, object]]) -> pd.DataFrame:
    frames = []
    for gid, res in graphs:
        frames.append(res.profile.assign(source=source, graph_id=gid, prompt_id=gid, category="c", phase="answer"))
    return pd.concat(frames, ignore_index=True)


def test_with_measure_tests_z_of_the_ffl_under_the_layer_null_and_sp_under_configuration():
    layered = profiles_of("m", [(f"g{s}", analysed(s, "layer_configuration", f"g{s}")[1]) for s in (3, 4)])
    assert one_dof_graphs(layered).all()
    m = with_measure(layered)
    tri = m[m["family"] == "triad"]
    connected = tri[tri["motif"].isin([L.TRIAD_LABELS[i] for i in L.CONNECTED])]
    assert set(connected["motif"]) == {"030T"} and (connected["measure"] == Z_FFL).all()
    ffl = layered[(layered["family"] == "triad") & (layered["motif"] == "030T")].set_index("graph_id")["z"]
    assert np.allclose(connected.set_index("graph_id")["value"], ffl.reindex(connected["graph_id"]))
    conf = profiles_of("m", [("c5", analysed(5, "configuration", "c5")[1])])
    assert not one_dof_graphs(conf).any()  # cycles and mutual edges in the null: more degrees of freedom
    mc = with_measure(conf)
    assert (mc["measure"] == SP).all() and {"021D", "030T", "030C"} <= set(mc["motif"])


def test_model_vs_base_triad_row_is_a_test_of_ffl_z():
    """Six prompts; the reasoner's graphs are denser in FFLs. The triad row must test Z(030T), not SP."""
    rows = {"r": [], "b": []}
    for i in range(6):
        for who, extra in (("r", 60), ("b", 0)):
            _, res = analysed(10 + i, "layer_configuration", f"p{i}", n_edges=140 + extra)
            p = res.profile.assign(graph_id=f"p{i}-answer-p7", prompt_id=f"p{i}", category="c", phase="answer", position=7, rule="boxed",
                                   target_token="4", status="correct", needs_reasoning=True,
                                   generation="own" if who == "r" else "teacher_forced:r")
            rows[who].append(p)
    empty = pd.DataFrame()
    src = {w: Source(w, "model", pd.concat(rows[w], ignore_index=True), empty, empty) for w in rows}
    res = model_vs_base(src, [{"reasoner": "r", "base": "b"}], CompareConfig())
    tri = res[res["family"] == "triad"]
    assert list(tri["motif"]) == ["030T"] and (tri["measure"] == Z_FFL).all()
    z = {w: src[w].profiles.query("family == 'triad' and motif == '030T'")["z"].clip(-100, 100).mean() for w in src}
    assert tri["mean_reasoner"].iloc[0] == pytest.approx(z["r"]) and tri["mean_base"].iloc[0] == pytest.approx(z["b"])
    assert tri["n_pairs"].iloc[0] == 6
