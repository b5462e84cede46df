"""Triad (size-3) and size-4 motif census, equal to igraph's ``motifs_randesu``.

Three exact paths, one answer (``tests/test_motifs_census`` checks all three against igraph):

* :func:`census_dag` — attribution graphs are DAGs, where only fan-in (021U), chain (021C),
  fan-out (021D) and FFL (030T) occur. With ``A`` the sparse adjacency,
  ``FFL = sum(A ∘ A²)``, ``fan-in = Σ C(d_in, 2) − FFL``, ``fan-out = Σ C(d_out, 2) − FFL`` and
  ``chain = Σ d_in·d_out − FFL`` (each FFL holds exactly one in-star, out-star and 2-path).
* :func:`census_batch` — the same idea for *any* simple digraph (mutual edges and cycles, as in
  rewired null samples): split edges into mutual and one-way, count wedges per centre node by
  dyad types from degrees, classify every closed directed 2-path ``x→b→y`` by the 4 remaining
  dyad bits, and subtract closed triads from wedge totals (tables in :mod:`labels`). It works
  on a whole batch of graphs at once (sample ids), which is how the null ensembles are counted.
* :func:`census_igraph` — ``motifs_randesu`` itself (the general path; also size 4).

Counts are induced, connected subgraphs in igraph's isoclass order; the unconnected classes
(003, 012, 102), NaN in igraph, are 0 as in circuit-motifs.
"""

from __future__ import annotations

import math

import igraph as ig
import numpy as np
import scipy.sparse as sp

from r1interp.artifacts import motif_labels as L
from r1interp.motifs.edges import EdgeSet

# Flat key spaces up to this many bytes use a dense byte map; larger ones sorted keys.
DEFAULT_BITMAP_BYTES = 64 << 20


def census_igraph(g: ig.Graph | EdgeSet, size: int = 3) -> np.ndarray:
    """igraph's ``motifs_randesu(size)`` with NaN → 0, as an int64 vector in isoclass order."""
    if size not in (3, 4):
        raise ValueError(f"motif size must be 3 or 4, got {size}")
    if isinstance(g, EdgeSet):
        g = g.to_igraph()
    if not g.is_directed():
        raise ValueError("the motif census needs a directed graph")
    raw = g.motifs_randesu(size=size)
    return np.array([0 if (c is None or (isinstance(c, float) and math.isnan(c))) else int(c) for c in raw], dtype=np.int64)


def _adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(src.size, dtype=np.int64), (src, dst)), shape=(n, n))


def census_dag(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """Exact 16-class census of a simple DAG from sparse adjacency products (see module doc)."""
    out = np.zeros(L.N_TRIADS, dtype=np.int64)
    if src.size == 0:
        return out
    a = _adjacency(src, dst, n)
    ffl = int(a.multiply(a @ a).sum())
    d_out = np.bincount(src, minlength=n).astype(np.int64)
    d_in = np.bincount(dst, minlength=n).astype(np.int64)
    out[L.FFL] = ffl
    out[L.FAN_IN] = int((d_in * (d_in - 1) // 2).sum()) - ffl
    out[L.FAN_OUT] = int((d_out * (d_out - 1) // 2).sum()) - ffl
    out[L.CHAIN] = int((d_in * d_out).sum()) - ffl
    return out


class ZeroBuffer:
    """A reusable zero-filled array: fresh ``np.zeros`` maps cost a page fault per 4 KiB on first
    touch (tens of ms per null chunk), so the census and the repair reuse one and zero back
    only the entries they wrote. A buffer not released (an exception mid-way) is replaced."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.arr = np.zeros(0, dtype)
        self.dirty = False

    def take(self, size: int) -> np.ndarray:
        if self.dirty or self.arr.size < size:
            self.arr = np.zeros(size, self.dtype)
        self.dirty = True
        return self.arr[:size]

    def release(self, view: np.ndarray, *touched: np.ndarray) -> None:
        """Zero ``touched`` keys in ``view`` (an array from :meth:`take`); the buffer is clean
        again only if ``view`` is its current array (a newer take may have replaced it)."""
        for keys in touched:
            view[keys] = 0
        if np.shares_memory(view, self.arr):
            self.dirty = False


_CODE_BUFFER = ZeroBuffer(np.uint8)


class KeyTable:
    """Membership codes for flat int64 keys: a dense byte map when small, sorted keys otherwise.

    Use as a context manager so a reused byte map is zeroed again afterwards.
    """

    def __init__(self, size: int, keys: np.ndarray, rkeys: np.ndarray, bitmap_bytes: int = DEFAULT_BITMAP_BYTES, buffer: ZeroBuffer | None = None, presence: np.ndarray | None = None):
        """Code of key k: bit 1 if k is an edge key, bit 2 if k is a reversed-edge key.

        ``mutual[i]`` tells whether edge ``keys[i]`` has its reverse edge too. ``presence``: a
        byte map from ``buffer`` that already holds 1 at every key (the null repair's), reused.
        """
        self.dense = presence is not None or size <= bitmap_bytes
        self._keys, self._rkeys = keys, rkeys
        if self.dense:
            self.buffer = buffer or _CODE_BUFFER
            if presence is None:
                self.table = self.buffer.take(size)
                self.table[keys] = 1
            else:
                self.table = presence
            back = self.table[rkeys]  # 1 where the reverse edge exists: a mutual pair
            self.table[rkeys] = back + 2  # rkeys are unique in a simple graph
            self.mutual = back.astype(bool)
        else:
            allk = np.concatenate([keys, rkeys])
            vals = np.concatenate([np.ones(keys.size, np.uint8), np.full(rkeys.size, 2, np.uint8)])
            uniq, inv = np.unique(allk, return_inverse=True)
            self.keys = uniq
            self.vals = np.bincount(inv, weights=vals, minlength=uniq.size).astype(np.uint8)
            self.mutual = self.get(keys) == 3

    def __enter__(self) -> "KeyTable":
        return self

    def __exit__(self, *exc) -> None:
        if self.dense:
            self.buffer.release(self.table, self._keys, self._rkeys)

    def get(self, q: np.ndarray) -> np.ndarray:
        if self.dense:
            return self.table[q]
        if self.keys.size == 0:
            return np.zeros(q.shape, np.uint8)
        pos = np.minimum(np.searchsorted(self.keys, q), self.keys.size - 1)
        return np.where(self.keys[pos] == q, self.vals[pos], 0).astype(np.uint8)


def match_pairs(keys_a: np.ndarray, keys_b: np.ndarray, n_keys: int, max_pairs: int = 1 << 22):
    """Yield ``(ia, ib)`` index arrays of all pairs with ``keys_a[ia] == keys_b[ib]``.

    Keys are ints in ``0..n_keys-1``. Pieces hold at most about ``max_pairs`` pairs so memory
    stays bounded on hub-heavy graphs.
    """
    d_b = np.bincount(keys_b, minlength=n_keys)
    order_a = np.argsort(keys_a, kind="stable")
    order_b = np.argsort(keys_b, kind="stable")
    start_b = np.cumsum(d_b) - d_b
    k = keys_a[order_a]
    cnt = d_b[k]
    csum = np.cumsum(cnt)
    if not csum.size or csum[-1] == 0:
        return
    lo = 0
    while lo < order_a.size:
        base = int(csum[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(csum, base + max_pairs, side="right")), lo + 1)
        c = cnt[lo:hi]
        m = int(c.sum())
        if m:
            ia = np.repeat(order_a[lo:hi], c)
            within = np.arange(m) - np.repeat(np.cumsum(c) - c, c)
            ib = order_b[np.repeat(start_b[k[lo:hi]], c) + within]
            yield ia, ib
        lo = hi


def two_paths(first_of: np.ndarray, second_of: np.ndarray, n_nodes: int, max_pairs: int = 1 << 22):
    """Yield ``(e1, e2)`` edge-index arrays of all 2-paths ``e1 = (x→b)``, ``e2 = (b→y)``.

    ``first_of``/``second_of`` are the global node ids of each edge's source/target.
    """
    yield from match_pairs(second_of, first_of, n_nodes, max_pairs)


def finish_census(closed_paths: np.ndarray, wedges: np.ndarray) -> np.ndarray:
    """Counts from closed-2-path tallies ``[S,16]`` and wedge sums ``[S,6]``."""
    counts = np.zeros_like(closed_paths)
    for c in L.CLOSED:
        counts[:, c] = closed_paths[:, c] // L.PATHS_PER_CLOSED[c]
    closed = counts.copy()
    for i, c in enumerate(L.OPEN_CLASS_OF_SIGNATURE):
        counts[:, c] = wedges[:, i] - closed @ L.WEDGE_COEF[i]
    return counts


def wedge_sums(d_out: np.ndarray, d_in: np.ndarray, d_mut: np.ndarray) -> np.ndarray:
    """``[S,6]`` wedge totals by signature (labels.WEDGE_SIGNATURES) from ``[S,n]`` degrees."""
    o = d_out - d_mut  # one-way out-degree
    i = d_in - d_mut
    m = d_mut
    return np.stack(
        [(o * (o - 1) // 2).sum(1), (i * (i - 1) // 2).sum(1), (o * i).sum(1), (m * i).sum(1), (m * o).sum(1), (m * (m - 1) // 2).sum(1)],
        axis=1,
    )


def census_batch(sample: np.ndarray, src: np.ndarray, dst: np.ndarray, n: int, n_samples: int, bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> np.ndarray:
    """Exact census of ``n_samples`` simple digraphs given as one flat edge list.

    ``sample[e]`` is the graph of edge ``e`` (``0..n_samples-1``); nodes are ``0..n-1`` in every
    graph. Returns ``[n_samples, 16]`` int64 counts. Each graph must be simple.
    """
    S = int(n_samples)
    sample = np.asarray(sample, dtype=np.int64)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    nn = n * n
    key = sample * nn + src * n + dst
    rkey = sample * nn + dst * n + src
    with KeyTable(S * nn, key, rkey, bitmap_bytes) as table:
        return _census_with_table(table, sample, src, dst, key, n, S)


def _census_with_table(table: KeyTable, sample, src, dst, key, n: int, S: int) -> np.ndarray:
    nn = n * n
    mutual = table.mutual
    gu = sample * n + src
    gv = sample * n + dst
    N = S * n
    d_out = np.bincount(gu, minlength=N).reshape(S, n)
    d_in = np.bincount(gv, minlength=N).reshape(S, n)
    d_mut = np.bincount(gu[mutual], minlength=N).reshape(S, n)
    wedges = wedge_sums(d_out.astype(np.int64), d_in.astype(np.int64), d_mut.astype(np.int64))
    tally = np.zeros(S * L.N_TRIADS, dtype=np.int64)
    for e1, e2 in two_paths(gu, gv, N):
        s = sample[e1]
        x = src[e1]
        y = dst[e2]
        code = table.get(s * nn + x * n + y)
        hit = np.flatnonzero(code)
        if hit.size == 0:
            continue
        c = code[hit].astype(np.int64)
        bits = mutual[e1[hit]] * 1 + mutual[e2[hit]] * 2 + (c & 1) * 4 + (c >> 1) * 8
        tally += np.bincount(s[hit] * L.N_TRIADS + L.PATH_CODE_CLASS[bits], minlength=S * L.N_TRIADS)
    return finish_census(tally.reshape(S, L.N_TRIADS), wedges)


def census_edges(edges: EdgeSet) -> np.ndarray:
    """Exact size-3 census of one simple graph by the fastest exact path."""
    if edges.m == 0:
        return np.zeros(L.N_TRIADS, dtype=np.int64)
    if not edges.has_mutual() and edges.to_igraph().is_dag():
        return census_dag(edges.src, edges.dst, edges.n)
    return census_batch(np.zeros(edges.m, np.int64), edges.src, edges.dst, edges.n, 1)[0]


def triad_census(g: ig.Graph | EdgeSet, method: str = "auto") -> np.ndarray:
    """16-class census in igraph isoclass order (labels.TRIAD_LABELS).

    ``auto``: the DAG closed form for acyclic graphs without mutual edges, the general closed
    form for other simple graphs, igraph for multigraphs / self-loops. ``dag``, ``closed``,
    ``igraph`` force a path (``dag`` raises on a non-DAG).
    """
    if method == "igraph":
        return census_igraph(g, 3)
    edges = g if isinstance(g, EdgeSet) else EdgeSet.from_igraph(g) if g.ecount() else EdgeSet.from_arrays(g.vcount(), [], [])
    if method == "dag":
        if edges.has_mutual() or not edges.to_igraph().is_dag():
            raise ValueError("census_dag needs an acyclic graph without mutual edges")
        return census_dag(edges.src, edges.dst, edges.n)
    if not edges.is_simple():
        if method == "closed":
            raise ValueError("the closed-form census needs a simple graph (no self-loops or repeated edges)")
        return census_igraph(g if isinstance(g, ig.Graph) else edges.to_igraph(), 3)
    if method == "closed":
        return census_batch(np.zeros(edges.m, np.int64), edges.src, edges.dst, edges.n, 1)[0]
    if method != "auto":
        raise ValueError(f"census method must be auto, dag, closed or igraph, got {method!r}")
    return census_edges(edges)


def census_size4(g: ig.Graph | EdgeSet) -> np.ndarray:
    """Size-4 census (218 directed classes, igraph isoclass order) via ``motifs_randesu``."""
    return census_igraph(g, 4)
