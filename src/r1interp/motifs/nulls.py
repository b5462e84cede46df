"""Null-model ensembles, seeded and batched.

Models (what each preserves — ``tests/test_motifs_nulls`` checks every promise):

* ``configuration`` — every node's in- and out-degree; a simple digraph (no self-loops, no
  repeated edges; mutual pairs allowed), the ensemble of igraph's degree-preserving ``rewire``
  that circuit-motifs uses.
* ``layer_configuration`` — every node's in/out-degree *per (source layer, target layer) pair*,
  hence also the edge count of every layer pair (attribution graphs only run forward).
* ``erdos_renyi`` — node and edge counts (G(n, m), simple).
* ``layer_er`` — the edge count of every (source layer, target layer) pair, edges placed
  uniformly among that pair's node pairs.

Signs (signed motifs only): ``keep`` — signs travel with edges, i.e. the configuration models
rewire excitatory and inhibitory edges separately (each node keeps its signed in/out-degrees;
circuit-motifs' ``preserve_signs``), and the ER models keep the sign counts of each stratum;
``shuffle`` — the real sign multiset is permuted over each null graph's edges.

How it is fast: a configuration sample is a *stub matching* — in-stub ``j`` (an edge end at a
fixed target) takes the out-stub ``sigma[j]`` (an edge start at a fixed source) from the same
stratum. A uniformly random matching per stratum is drawn for a whole batch of samples at once
(one ``argsort``), then the few self-loops and repeated edges are repaired by random swaps
within the stratum, vectorised over samples (a double-edge swap is a transposition of
``sigma``). Because every node's stubs are fixed, the 2-paths ``x→b→y`` of all samples are the
same *stub pairs*, enumerated once; the census of a sample is then a handful of gathers (see
:func:`StubModel.census`). Samples whose repair stalls (rare; e.g. a nearly complete layer
pair) fall back to a sequential swap chain from the real graph, so every sample is valid.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from r1interp.motifs import labels as L
from r1interp.motifs.census import DEFAULT_BITMAP_BYTES, KeyTable, ZeroBuffer, finish_census, census_batch, two_paths
from r1interp.motifs.edges import EdgeSet

log = logging.getLogger(__name__)

NULL_MODELS = ("configuration", "layer_configuration", "erdos_renyi", "layer_er")
SIGN_MODES = ("keep", "shuffle")
MAX_PAIRS = 1 << 22  # 2-path entries per piece (bounds memory)


def _within_blocks_permutation(rng: np.random.Generator, S: int, groups: np.ndarray) -> np.ndarray:
    """``[S, E]``: for each row a random permutation of ``0..E-1`` that maps each block of equal
    (sorted, contiguous) ``groups`` onto itself."""
    if groups.size == 0 or groups[0] == groups[-1]:
        perm = np.tile(np.arange(groups.size), (S, 1))
        return rng.permuted(perm, axis=1, out=perm)  # in place: C order, no second copy
    keys = groups[None, :].astype(np.float64) + rng.random((S, groups.size))
    return np.argsort(keys, axis=1, kind="quicksort")


def layer_pair_ids(edges: EdgeSet) -> np.ndarray:
    """Dense id of each edge's (source layer, target layer) pair."""
    pair = np.stack([edges.layer[edges.src], edges.layer[edges.dst]], axis=1)
    return np.unique(pair, axis=0, return_inverse=True)[1].reshape(-1) if edges.m else np.zeros(0, np.int64)


class StubModel:
    """Stratified configuration model (see module doc); ``strata[e]`` groups real edges."""

    def __init__(self, edges: EdgeSet, strata: np.ndarray, max_rounds: int = 300):
        self.edges = edges
        self.n = n = edges.n
        self.E = E = edges.m
        strata = np.unique(np.asarray(strata), return_inverse=True)[1].reshape(-1) if E else np.zeros(0, np.int64)
        order_out = np.lexsort((edges.src, strata))
        order_in = np.lexsort((edges.dst, strata))
        self.out_src = edges.src[order_out]
        self.in_dst = edges.dst[order_in]
        self.in_stratum = strata[order_in]
        self.in_neg = edges.neg[order_in]
        sizes = np.bincount(strata) if E else np.zeros(0, np.int64)
        self.size = sizes
        self.off = np.cumsum(sizes) - sizes
        inv_out = np.empty(E, dtype=np.int64)
        inv_out[order_out] = np.arange(E)
        self.identity = inv_out[order_in]  # sigma of the real graph
        self.d_out = np.bincount(edges.src, minlength=n).astype(np.int64)
        self.d_in = np.bincount(edges.dst, minlength=n).astype(np.int64)
        self.max_rounds = max_rounds
        self.n_pairs = int((self.d_in * self.d_out).sum())
        self._pairs: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._code = ZeroBuffer(np.uint8)
        self._cache: dict[int, dict[str, np.ndarray]] = {}
        o, i = self.d_out, self.d_in
        self._wedges_static = np.array([(o * (o - 1) // 2).sum(), (i * (i - 1) // 2).sum(), (o * i).sum(), 0, 0, 0], dtype=np.int64)

    # ---- sampling -------------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, S: int) -> np.ndarray:
        """``[S, E]`` stub matchings, each a simple digraph with the model's promises."""
        return self.draw(rng, S)[0]

    def draw(self, rng: np.random.Generator, S: int, keep_table: bool = False):
        """``(sigma, u, key, table)``: matchings, source node per in-stub, flat edge keys, and —
        with ``keep_table`` — the byte presence map of the samples' edges (1 at every key) that
        :meth:`census` reuses and releases; otherwise ``table`` is None."""
        sigma = _within_blocks_permutation(rng, S, self.in_stratum)
        st = self._static(S)
        u = self.out_src[sigma]
        key = u * self.n + st["base_t"]
        table = self._code.take(S * self.n * self.n)  # presence flag per flat edge key; 0 = free
        try:
            stuck = self._repair_rounds(sigma, rng, u, key, table)
            if stuck.size:
                log.warning("null repair stalled on %d of %d samples; drawing them by a swap chain from the real graph", stuck.size, S)
                for s in stuck:
                    table[key[s]] = 0
                    sigma[s] = self._swap_chain(rng)
                    u[s] = self.out_src[sigma[s]]
                    key[s] = u[s] * self.n + st["base_t"][s]
                    table[key[s]] = 1
        except BaseException:
            self._code.release(table, key.ravel())
            raise
        if not keep_table:
            self._code.release(table, key.ravel())
            table = None
        return sigma, u, key, table

    def _static(self, S: int) -> dict[str, np.ndarray]:
        """Per chunk size: arrays that depend only on the real graph and the row offsets."""
        if S not in self._cache:
            nn, E = self.n * self.n, self.E
            base = np.arange(S, dtype=np.int64)[:, None] * nn
            self._cache = {S: {
                "base": base,
                "base_t": base + self.in_dst[None, :],
                "base_tn": base + self.in_dst[None, :] * self.n,
                "row_off": np.arange(S, dtype=np.int64)[:, None] * E,
                "tile_t": np.tile(self.in_dst, S),
            }}
        return self._cache[S]

    def _repair_rounds(self, sigma, rng, u, key, table) -> np.ndarray:
        """Fix self-loops and repeated edges in place by random in-stratum swaps; returns stuck rows.

        ``table`` (zeroed bytes) ends with 1 at every edge key of the repaired samples.
        """
        S, E = sigma.shape
        n, nn = self.n, self.n * self.n
        base = np.arange(S, dtype=np.int64) * nn
        t = self.in_dst
        flat_key = key.ravel()
        table[flat_key] = 1
        srt = np.sort(flat_key)  # repeated edges are adjacent equal keys
        rep = srt[1:][srt[1:] == srt[:-1]]
        bad = u == t[None, :]
        if rep.size:
            table[rep] = 2
            bad |= (table[flat_key] == 2).reshape(S, E)  # every copy of a repeated edge floats
        bs, bj = np.nonzero(bad)
        if bs.size == 0:
            return np.zeros(0, np.int64)
        table[key[bs, bj]] = 0
        for _ in range(self.max_rounds):
            if bs.size == 0:
                return np.zeros(0, np.int64)
            # (a) a floating stub whose own edge is now free and not a loop goes back in
            kb = key[bs, bj]
            ok = np.flatnonzero((u[bs, bj] != t[bj]) & (table[kb] == 0))
            if ok.size:
                ok = ok[np.unique(kb[ok], return_index=True)[1]]
                table[kb[ok]] = 1
                bad[bs[ok], bj[ok]] = False
                rest = np.ones(bs.size, bool)
                rest[ok] = False
                bs, bj = bs[rest], bj[rest]
                if bs.size == 0:
                    continue
            # (b) swap with a random stub of the same stratum
            g = self.in_stratum[bj]
            kk = self.off[g] + (rng.random(bj.size) * self.size[g]).astype(np.int64)
            xj, xk, tj, tk = u[bs, bj], u[bs, kk], t[bj], t[kk]
            nj = base[bs] + xk * n + tj
            nk = base[bs] + xj * n + tk
            valid = (kk != bj) & (xj != xk) & (tj != tk) & (xk != tj) & (xj != tk)
            valid &= (table[nj] == 0) & (table[nk] == 0)
            idx = np.flatnonzero(valid)
            if idx.size == 0:
                continue
            idx = idx[_unique_pairs(bs[idx] * E + bj[idx], bs[idx] * E + kk[idx])]
            idx = idx[_unique_pairs(nj[idx], nk[idx])]
            if idx.size == 0:
                continue
            s_, j_, k_ = bs[idx], bj[idx], kk[idx]
            k_bad = bad[s_, k_]
            table[key[s_[~k_bad], k_[~k_bad]]] = 0
            sigma[s_, j_], sigma[s_, k_] = sigma[s_, k_], sigma[s_, j_].copy()
            u[s_, j_], u[s_, k_] = xk[idx], xj[idx]
            key[s_, j_], key[s_, k_] = nj[idx], nk[idx]
            table[nj[idx]] = 1
            table[nk[idx]] = 1
            bad[s_, j_] = False
            bad[s_, k_] = False
            # drop the fixed stubs (j's, and bad k's that were swapped) from the floating list
            fixed = np.zeros(bs.size, bool)
            fixed[idx] = True
            if k_bad.any():
                done = np.isin(bs * E + bj, s_[k_bad] * E + k_[k_bad])
                fixed |= done
            bs, bj = bs[~fixed], bj[~fixed]
        return np.unique(bs)

    def _swap_chain(self, rng: np.random.Generator, factor: int = 10) -> np.ndarray:
        """A sample by ``factor * E`` in-stratum swap attempts from the real graph (sequential)."""
        sigma = self.identity.copy()
        u = self.out_src[sigma].tolist()
        t = self.in_dst.tolist()
        present = set(zip(u, t))
        js = rng.integers(0, self.E, factor * self.E)
        r = rng.random(factor * self.E)
        for j, rr in zip(js.tolist(), r.tolist()):
            g = self.in_stratum[j]
            k = int(self.off[g] + int(rr * self.size[g]))
            xj, xk, tj, tk = u[j], u[k], t[j], t[k]
            if k == j or xj == xk or tj == tk or xk == tj or xj == tk:
                continue
            if (xk, tj) in present or (xj, tk) in present:
                continue
            present -= {(xj, tj), (xk, tk)}
            present |= {(xk, tj), (xj, tk)}
            u[j], u[k] = xk, xj
            sigma[j], sigma[k] = sigma[k], sigma[j]
        return sigma

    # ---- views ------------------------------------------------------------------------------
    def edge_arrays(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(src, dst)`` as ``[S, E]`` arrays (edge ``j`` of a sample ends at in-stub ``j``)."""
        return self.out_src[sigma], np.broadcast_to(self.in_dst, sigma.shape)

    def _stub_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        if self._pairs is None:
            self._pairs = list(two_paths(self.out_src, self.in_dst, self.n, MAX_PAIRS))
        return self._pairs

    def census(self, sigma: np.ndarray, bitmap_bytes: int = DEFAULT_BITMAP_BYTES, u: np.ndarray | None = None, key: np.ndarray | None = None, table: np.ndarray | None = None) -> np.ndarray:
        """``[S, 16]`` exact triad census of the samples (static stub pairs; see module doc).

        ``u``/``key``/``table`` from :meth:`draw` (``keep_table=True``) skip rebuilding them;
        the table is released here.
        """
        S, E = sigma.shape
        n, nn = self.n, self.n * self.n
        if E == 0:
            return np.zeros((S, L.N_TRIADS), np.int64)
        st = self._static(S)
        if u is None or key is None:
            u = self.out_src[sigma]
            key = u * n + st["base_t"]
        buffer = self._code if table is not None else None
        with KeyTable(S * nn, key.ravel(), (st["base_tn"] + u).ravel(), bitmap_bytes, buffer, table) as table:
            mutual = table.mutual.reshape(S, E)
            wedges = self._wedges(mutual, u, S)
            x_part = key - self.in_dst  # flat-key prefix (row offset + source * n) of edge j
            y_of_out = np.empty(S * E, dtype=np.int64)  # target of the edge that uses out-stub o
            y_of_out[(st["row_off"] + sigma).ravel()] = st["tile_t"]
            y_of_out = y_of_out.reshape(S, E)
            tally = np.zeros(S * L.N_TRIADS, dtype=np.int64)
            flat = table.table if table.dense else None
            for J, O in self._stub_pairs():
                hit_r, hit_c, hit_code = [], [], []
                for r in range(S):  # per sample: the gathers stay in cache (≈2x faster than [S, P])
                    q = np.take(x_part[r], J) + np.take(y_of_out[r], O)
                    code = np.take(flat, q) if flat is not None else table.get(q)
                    c = code.nonzero()[0]
                    if c.size:
                        hit_r.append(np.full(c.size, r))
                        hit_c.append(c)
                        hit_code.append(code[c])
                if not hit_r:
                    continue
                r, c = np.concatenate(hit_r), np.concatenate(hit_c)
                cc = np.concatenate(hit_code).astype(np.int64)
                y = y_of_out[r, O[c]]
                m2 = table.get(st["base"][r, 0] + y * n + self.in_dst[J[c]]) & 1  # y->b exists: b->y is mutual
                bits = mutual[r, J[c]] * 1 + m2 * 2 + (cc & 1) * 4 + (cc >> 1) * 8
                tally += np.bincount(r * L.N_TRIADS + L.PATH_CODE_CLASS[bits], minlength=S * L.N_TRIADS)
        return finish_census(tally.reshape(S, L.N_TRIADS), wedges)

    def _wedges(self, mutual: np.ndarray, u: np.ndarray, S: int) -> np.ndarray:
        """Wedge sums: the static totals, corrected only at the (few) nodes with mutual edges."""
        wedges = np.broadcast_to(self._wedges_static, (S, 6)).copy()
        r, j = np.nonzero(mutual)
        if r.size == 0:
            return wedges
        keys, m = np.unique(r * self.n + u[r, j], return_counts=True)
        s, v = np.divmod(keys, self.n)
        o, i = self.d_out[v], self.d_in[v]
        oo, ii = o - m, i - m
        delta = np.stack([(oo * (oo - 1) - o * (o - 1)) // 2, (ii * (ii - 1) - i * (i - 1)) // 2, oo * ii - o * i, m * ii, m * oo, m * (m - 1) // 2], axis=1)
        np.add.at(wedges, s, delta)
        return wedges


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices ``i`` whose ``a[i]`` and ``b[i]`` occur once in ``concat(a, b)`` (conflict-free swaps)."""
    both = np.concatenate([a, b])
    _, inv, cnt = np.unique(both, return_inverse=True, return_counts=True)
    once = cnt[inv] == 1
    m = a.size
    return np.flatnonzero(once[:m] & once[m:])


def sample_without_replacement(rng: np.random.Generator, S: int, N: int, c: int) -> np.ndarray:
    """``[S, c]``: per row a uniformly random ``c``-subset of ``0..N-1`` (in random order)."""
    if c > N:
        raise ValueError(f"cannot place {c} edges among {N} node pairs")
    if c == 0:
        return np.zeros((S, 0), np.int64)
    if 3 * c >= N:
        rows = max(1, (1 << 24) // max(N, 1))
        parts = [np.argsort(rng.random((min(rows, S - i), N)), axis=1)[:, :c] for i in range(0, S, rows)]
        return np.concatenate(parts).astype(np.int64)
    draw = rng.integers(0, N, (S, c))
    while True:
        order = np.argsort(draw, axis=1, kind="stable")
        srt = np.take_along_axis(draw, order, axis=1)
        dup = np.zeros(draw.shape, bool)
        dup[:, 1:] = srt[:, 1:] == srt[:, :-1]
        if not dup.any():
            return draw
        r, c_ = np.nonzero(dup)
        draw[r, order[r, c_]] = rng.integers(0, N, r.size)


def _decode_offdiag(r: np.ndarray, nodes_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordered pair ``r`` in ``0..k(k-1)-1`` of distinct nodes of ``nodes_a``."""
    k = nodes_a.size
    x = r // (k - 1)
    t = r % (k - 1)
    y = t + (t >= x)
    return nodes_a[x], nodes_a[y]


@dataclass
class NullBatch:
    """A chunk of null graphs: ``src``/``dst``/``neg`` are ``[S, E]``."""

    src: np.ndarray
    dst: np.ndarray
    neg: np.ndarray | None
    n: int
    stub: StubModel | None = None
    sigma: np.ndarray | None = None
    u: np.ndarray | None = None
    key: np.ndarray | None = None
    table: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.src.shape[0]

    def triad_census(self, bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> np.ndarray:
        if self.stub is not None:
            table, self.table = self.table, None  # released by the census: use once
            return self.stub.census(self.sigma, bitmap_bytes, self.u, self.key, table)
        S, E = self.src.shape
        sample = np.repeat(np.arange(S), E)
        return census_batch(sample, self.src.ravel(), self.dst.ravel(), self.n, S, bitmap_bytes)


class NullModel:
    """One null model bound to a real graph; :meth:`batches` yields seeded :class:`NullBatch` es."""

    def __init__(self, edges: EdgeSet, model: str = "configuration", sign_mode: str = "keep", signed: bool = False):
        if model not in NULL_MODELS:
            raise ValueError(f"null model must be one of {NULL_MODELS}, got {model!r}")
        if sign_mode not in SIGN_MODES:
            raise ValueError(f"sign_mode must be one of {SIGN_MODES}, got {sign_mode!r}")
        self.edges, self.model, self.sign_mode, self.signed = edges, model, sign_mode, signed
        keep_sign = signed and sign_mode == "keep"
        self.stub: StubModel | None = None
        if model in ("configuration", "layer_configuration"):
            strata = layer_pair_ids(edges) if model == "layer_configuration" else np.zeros(edges.m, np.int64)
            if keep_sign:
                strata = strata * 2 + edges.neg
            self.stub = StubModel(edges, strata)
        else:
            self._setup_er(keep_sign)

    def _setup_er(self, keep_sign: bool) -> None:
        e = self.edges
        if self.model == "erdos_renyi":
            if e.m > e.n * (e.n - 1):
                raise ValueError("more edges than node pairs")
            self.blocks = [(np.arange(e.n), np.arange(e.n), e.m)]
            strata = np.zeros(e.m, np.int64)
        else:
            pid = layer_pair_ids(e)
            pairs = np.unique(np.stack([e.layer[e.src], e.layer[e.dst]], 1), axis=0) if e.m else np.zeros((0, 2), np.int64)
            counts = np.bincount(pid, minlength=len(pairs)) if e.m else np.zeros(0, np.int64)
            self.blocks = [(np.flatnonzero(e.layer == a), np.flatnonzero(e.layer == b), int(c)) for (a, b), c in zip(pairs, counts)]
            strata = pid
        order = np.argsort(strata, kind="stable")
        self.er_strata = strata[order]  # sign strata aligned with the sampled edge blocks
        self.er_neg = e.neg[order]
        self.sign_groups = self.er_strata if keep_sign else np.zeros(e.m, np.int64)

    def _er_sample(self, rng: np.random.Generator, S: int) -> tuple[np.ndarray, np.ndarray]:
        src, dst = [], []
        for a_nodes, b_nodes, c in self.blocks:
            if c == 0:
                continue
            same = a_nodes.size == b_nodes.size and np.array_equal(a_nodes, b_nodes)
            N = a_nodes.size * (a_nodes.size - 1) if same else a_nodes.size * b_nodes.size
            r = sample_without_replacement(rng, S, N, c)
            if same:
                x, y = _decode_offdiag(r, a_nodes)
            else:
                x, y = a_nodes[r // b_nodes.size], b_nodes[r % b_nodes.size]
            src.append(x)
            dst.append(y)
        if not src:
            return np.zeros((S, 0), np.int64), np.zeros((S, 0), np.int64)
        return np.concatenate(src, axis=1), np.concatenate(dst, axis=1)

    def batches(self, n_samples: int, rng: np.random.Generator, chunk: int | None = None, bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> Iterator[NullBatch]:
        """Yield ``n_samples`` null graphs in chunks (size from memory: the census byte maps)."""
        e = self.edges
        if chunk is None:
            chunk = default_chunk(e, bitmap_bytes, self.stub.n_pairs if self.stub else None)
        done = 0
        while done < n_samples:
            S = min(chunk, n_samples - done)
            neg = None
            if self.stub is not None:
                sigma, u, key, table = self.stub.draw(rng, S, keep_table=not self.signed)
                src, dst = u, np.broadcast_to(self.stub.in_dst, (S, e.m))
                if self.signed:
                    if self.sign_mode == "keep":
                        neg = np.broadcast_to(self.stub.in_neg, (S, e.m))
                    else:
                        neg = e.neg[_within_blocks_permutation(rng, S, np.zeros(e.m, np.int64))]
                yield NullBatch(src, dst, neg, e.n, self.stub, sigma, u, key, table)
            else:
                src, dst = self._er_sample(rng, S)
                if self.signed:
                    neg = self.er_neg[_within_blocks_permutation(rng, S, self.sign_groups)]
                yield NullBatch(src, dst, neg, e.n)
            done += S


def default_chunk(edges: EdgeSet, bitmap_bytes: int = DEFAULT_BITMAP_BYTES, n_pairs: int | None = None) -> int:
    """Samples per chunk: the byte maps stay cache-sized (~2 MiB; measured fastest) and within
    ``bitmap_bytes``, and the 2-path gathers stay bounded."""
    nn = max(edges.n * edges.n, 1)
    by_map = bitmap_bytes // (2 * nn)
    by_cache = max(4, (2 << 20) // nn)
    pairs = n_pairs if n_pairs is not None else max(edges.m * edges.m // max(edges.n, 1), 1)
    by_pairs = (1 << 23) // max(pairs, 1)
    return int(max(1, min(256, by_map, by_cache, by_pairs)))
