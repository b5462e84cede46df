"""The census equals igraph's motifs_randesu on every graph; labels follow networkx's names."""

from __future__ import annotations

import igraph as ig
import numpy as np
import pytest

from r1interp.artifacts import motif_labels as L
from r1interp.motifs.census import census_batch, census_dag, census_igraph, census_size4, triad_census
from r1interp.motifs.edges import EdgeSet


def random_digraph(rng, n, p):
    """General simple digraph: mutual pairs and cycles included."""
    mask = rng.random((n, n)) < p
    np.fill_diagonal(mask, False)
    s, d = np.nonzero(mask)
    return EdgeSet.from_arrays(n, s, d)


def random_dag(rng, n, p):
    g = random_digraph(rng, n, p)
    perm = rng.permutation(n)  # hide the topological order in the node ids
    fwd = perm[g.src] < perm[g.dst]
    return EdgeSet.from_arrays(n, g.src[fwd], g.dst[fwd])


def test_labels_are_networkx_names_in_igraph_order():
    nx = pytest.importorskip("networkx")
    for cls in range(16):
        g = ig.Graph.Isoclass(3, cls, directed=True)
        G = nx.DiGraph()
        G.add_nodes_from(range(3))
        G.add_edges_from(g.get_edgelist())
        names = [k for k, v in nx.triadic_census(G).items() if v == 1]
        assert names == [L.TRIAD_LABELS[cls]]
    # circuit-motifs' list differs exactly by the two swapped pairs
    diff = {i for i in range(16) if L.TRIAD_LABELS[i] != L.CIRCUIT_MOTIFS_TRIAD_LABELS[i]}
    assert {L.TRIAD_LABELS[i] for i in diff} == {"111U", "111D", "120U", "120D"}


def test_networkx_triadic_census_agrees_on_random_graph():
    nx = pytest.importorskip("networkx")
    e = random_digraph(np.random.default_rng(5), 25, 0.15)
    G = nx.DiGraph()
    G.add_nodes_from(range(e.n))
    G.add_edges_from(zip(e.src.tolist(), e.dst.tolist()))
    ref = nx.triadic_census(G)
    ours = triad_census(e)
    for i in L.CONNECTED:
        assert ours[i] == ref[L.TRIAD_LABELS[i]]


@pytest.mark.parametrize("seed", range(6))
def test_closed_form_equals_motifs_randesu_on_general_digraphs(seed):
    rng = np.random.default_rng(seed)
    for n, p in ((8, 0.5), (30, 0.12), (60, 0.05)):
        e = random_digraph(rng, n, p)
        ref = census_igraph(e)
        assert e.has_mutual()
        assert np.array_equal(triad_census(e, "closed"), ref)
        assert np.array_equal(triad_census(e, "auto"), ref)


@pytest.mark.parametrize("seed", range(6))
def test_dag_closed_form_equals_general_path_and_igraph(seed):
    rng = np.random.default_rng(100 + seed)
    for n, p in ((10, 0.5), (40, 0.15), (80, 0.06)):
        e = random_dag(rng, n, p)
        ref = census_igraph(e)
        assert np.array_equal(census_dag(e.src, e.dst, e.n), ref)
        assert np.array_equal(triad_census(e, "closed"), ref)
        assert np.array_equal(triad_census(e), ref)
        # only fan-in, chain, fan-out and FFL can occur in a DAG
        assert set(np.flatnonzero(ref)) <= {L.FAN_IN, L.CHAIN, L.FAN_OUT, L.FFL}


def test_dag_path_refuses_non_dag():
    e = EdgeSet.from_arrays(3, [0, 1, 2], [1, 2, 0])
    with pytest.raises(ValueError, match="acyclic"):
        triad_census(e, "dag")
    assert triad_census(e)[L.CYCLE] == 1


def test_batched_census_matches_each_graph_and_sorted_key_fallback():
    rng = np.random.default_rng(7)
    graphs = [random_digraph(rng, 20, 0.2) for _ in range(4)]
    sample = np.concatenate([np.full(g.m, i) for i, g in enumerate(graphs)])
    src = np.concatenate([g.src for g in graphs])
    dst = np.concatenate([g.dst for g in graphs])
    dense = census_batch(sample, src, dst, 20, 4)
    sparse = census_batch(sample, src, dst, 20, 4, bitmap_bytes=16)  # forces sorted keys
    for i, g in enumerate(graphs):
        assert np.array_equal(dense[i], census_igraph(g))
    assert np.array_equal(dense, sparse)


def test_multigraph_input_uses_igraph_path():
    g = ig.Graph(n=3, edges=[(0, 1), (0, 1), (1, 2), (0, 2)], directed=True)
    assert np.array_equal(triad_census(g), census_igraph(g))


def test_size4_census_is_motifs_randesu():
    e = random_dag(np.random.default_rng(3), 15, 0.3)
    c4 = census_size4(e)
    assert c4.shape == (218,)
    raw = e.to_igraph().motifs_randesu(size=4)
    assert np.array_equal(c4, np.nan_to_num(np.array(raw, dtype=float)).astype(np.int64))
    assert c4.sum() > 0


def test_tables_are_consistent():
    # every closed triad holds a directed 2-path; wedge coefficients sum to 3 per closed class
    assert all(L.PATHS_PER_CLOSED[c] >= 1 for c in L.CLOSED)
    assert all(L.WEDGE_COEF[:, c].sum() == 3 for c in L.CLOSED)
    assert sorted(L.TRIAD_LABELS[c] for c in L.OPEN_CLASS_OF_SIGNATURE) == sorted(["021D", "021U", "021C", "111D", "111U", "201"])


@pytest.mark.parametrize("n, p", [(9, 0.45), (70, 0.15), (140, 0.04)])
def test_compiled_census_equals_motifs_randesu(n, p):
    """The bit-matrix census the null chains use, on general digraphs (mutual edges, cycles,
    more than one 64-bit word per row)."""
    from r1interp.motifs.nulls import census_of_edge_lists

    rng = np.random.default_rng(n)
    graphs = [random_digraph(rng, n, p) for _ in range(3)]
    m = min(g.m for g in graphs)
    graphs = [EdgeSet.from_arrays(n, g.src[:m], g.dst[:m]) for g in graphs]
    got = census_of_edge_lists(np.stack([g.src for g in graphs]), np.stack([g.dst for g in graphs]), n)
    for row, g in zip(got, graphs):
        assert np.array_equal(row, census_igraph(g))
