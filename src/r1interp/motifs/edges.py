"""Plain-array view of a graph: what the census and the null models actually compute on.

Why arrays: the null ensembles are thousands of graphs; keeping them as ``int64`` edge arrays
(never as igraph objects) is what makes the batched census cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import igraph as ig
import numpy as np

from r1interp.motifs.loader import effective_layers


@dataclass(frozen=True)
class EdgeSet:
    """A simple digraph on nodes ``0..n-1``.

    ``neg`` marks inhibitory edges (``raw_weight < 0``); ``layer`` is the effective layer per
    node (see :func:`r1interp.motifs.loader.effective_layers`); ``weight`` is ``|w|``.
    """

    n: int
    src: np.ndarray
    dst: np.ndarray
    neg: np.ndarray
    layer: np.ndarray
    weight: np.ndarray

    @property
    def m(self) -> int:
        return int(self.src.size)

    @classmethod
    def from_igraph(cls, g: ig.Graph, n_layers: int | None = None) -> "EdgeSet":
        m = g.ecount()
        el = np.asarray(g.get_edgelist(), dtype=np.int64).reshape(m, 2)
        raw = np.asarray(g.es["raw_weight"], dtype=np.float64) if m and "raw_weight" in g.es.attributes() else np.ones(m)
        layer = effective_layers(g, n_layers) if "layer" in g.vs.attributes() else np.zeros(g.vcount(), dtype=np.int64)
        return cls(g.vcount(), el[:, 0].copy(), el[:, 1].copy(), raw < 0, layer, np.abs(raw))

    @classmethod
    def from_arrays(cls, n: int, src, dst, neg=None, layer=None, weight=None) -> "EdgeSet":
        src = np.asarray(src, dtype=np.int64)
        dst = np.asarray(dst, dtype=np.int64)
        neg = np.zeros(src.size, dtype=bool) if neg is None else np.asarray(neg, dtype=bool)
        layer = np.zeros(n, dtype=np.int64) if layer is None else np.asarray(layer, dtype=np.int64)
        weight = np.ones(src.size) if weight is None else np.asarray(weight, dtype=np.float64)
        return cls(int(n), src, dst, neg, layer, weight)

    def is_simple(self) -> bool:
        if np.any(self.src == self.dst):
            return False
        key = self.src * max(self.n, 1) + self.dst
        return np.unique(key).size == key.size

    def has_mutual(self) -> bool:
        key = self.src * max(self.n, 1) + self.dst
        rkey = self.dst * max(self.n, 1) + self.src
        return bool(np.isin(rkey, key).any())

    def to_igraph(self) -> ig.Graph:
        return ig.Graph(n=self.n, edges=np.column_stack([self.src, self.dst]).tolist(), directed=True)
