"""Triad labels in igraph's isoclass order, and the lookup tables the closed-form census uses.

Label convention (why this module exists): igraph numbers the 16 directed 3-node isomorphism
classes in its own order (``Graph.Isoclass(3, i)``), not in the MAN order of the triad census.
We name each igraph class with the **standard** Holland–Leinhardt / networkx name
(``networkx.triadic_census``), e.g. with nodes a, b, c:

    021D  a<-b->c          (fan-out)        111D  a<->b<-c
    021U  a->b<-c          (fan-in)         111U  a<->b->c
    021C  a->b->c          (chain)          120D  a<-b->c, a<->c
    030T  a->b<-c, a->c    (feed-forward)   120U  a->b<-c, a<->c

circuit-motifs labels igraph classes 5/9 as 111U/111D and 8/13 as 120U/120D — the two pairs
swapped relative to that standard. :data:`CIRCUIT_MOTIFS_TRIAD_LABELS` keeps its list for
reading old results; every table we write uses :data:`TRIAD_LABELS`. ``tests/test_motifs_census``
checks our names against ``networkx.triadic_census`` class by class.

All tables below are *computed* from igraph's own isoclass graphs at import, so they cannot
drift from the census they describe.
"""

from __future__ import annotations

import itertools

import igraph as ig
import numpy as np

# Standard (networkx) names, indexed by igraph isoclass id for size-3 directed graphs.
TRIAD_LABELS: tuple[str, ...] = (
    "003", "012", "021U", "102", "021C", "111D", "021D", "030T",
    "120D", "111U", "201", "030C", "120C", "120U", "210", "300",
)
# circuit-motifs' list (same igraph order, 111U/111D and 120U/120D swapped) — for reading its output.
CIRCUIT_MOTIFS_TRIAD_LABELS: tuple[str, ...] = (
    "003", "012", "021U", "102", "021C", "111U", "021D", "030T",
    "120U", "111D", "201", "030C", "120C", "120D", "210", "300",
)
N_TRIADS = 16
# igraph's motifs_randesu reports NaN for the classes that are not connected (003, 012, 102).
UNCONNECTED = (0, 1, 3)
CONNECTED = tuple(i for i in range(N_TRIADS) if i not in UNCONNECTED)

FAN_IN = TRIAD_LABELS.index("021U")
CHAIN = TRIAD_LABELS.index("021C")
FAN_OUT = TRIAD_LABELS.index("021D")
FFL = TRIAD_LABELS.index("030T")
CYCLE = TRIAD_LABELS.index("030C")

# Readable names for the classes that can occur in an attribution DAG (used in summaries).
DAG_MOTIF_NAMES = {FAN_IN: "fan_in", CHAIN: "chain", FAN_OUT: "fan_out", FFL: "FFL", CYCLE: "cycle"}


def _isoclass(edges: list[tuple[int, int]]) -> int:
    return ig.Graph(n=3, edges=edges, directed=True).isoclass()


def _dyad(adj: np.ndarray, v: int, u: int) -> int | None:
    """Dyad type seen from ``v``: 0 out (v->u only), 1 in, 2 mutual, None if not adjacent."""
    out, inn = bool(adj[v, u]), bool(adj[u, v])
    if out and inn:
        return 2
    if out:
        return 0
    if inn:
        return 1
    return None


def _class_adjacency(cls: int) -> np.ndarray:
    g = ig.Graph.Isoclass(3, cls, directed=True)
    return np.array(g.get_adjacency().data, dtype=bool)


# Wedge signatures (unordered pair of dyad types at the centre node) and the open triad each names.
WEDGE_SIGNATURES: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (0, 1), (1, 2), (0, 2), (2, 2))


def _open_class(sig: tuple[int, int]) -> int:
    edges = []
    for other, t in zip((0, 2), sig):  # centre is node 1
        if t in (0, 2):
            edges.append((1, other))
        if t in (1, 2):
            edges.append((other, 1))
    return _isoclass(edges)


OPEN_CLASS_OF_SIGNATURE: tuple[int, ...] = tuple(_open_class(s) for s in WEDGE_SIGNATURES)
# Closed triads: all three dyads non-null.
CLOSED: tuple[int, ...] = tuple(
    c for c in range(N_TRIADS) if all(_dyad(_class_adjacency(c), a, b) is not None for a, b in ((0, 1), (0, 2), (1, 2)))
)


def _wedge_coefficients() -> np.ndarray:
    """``coef[s, c]``: wedges of signature ``s`` inside one closed triad of class ``c``."""
    coef = np.zeros((len(WEDGE_SIGNATURES), N_TRIADS), dtype=np.int64)
    for c in CLOSED:
        adj = _class_adjacency(c)
        for v in range(3):
            u, w = (x for x in range(3) if x != v)
            sig = tuple(sorted((_dyad(adj, v, u), _dyad(adj, v, w))))
            coef[WEDGE_SIGNATURES.index(sig), c] += 1
    return coef


WEDGE_COEF = _wedge_coefficients()


def _path_tables() -> tuple[np.ndarray, np.ndarray]:
    """Class of a closed directed 2-path ``x->b->y`` from 4 bits, and paths per closed triad.

    Bits: 1 = b->x exists, 2 = y->b exists, 4 = x->y exists, 8 = y->x exists. Codes with neither
    x->y nor y->x are open and map to -1.
    """
    code_class = np.full(16, -1, dtype=np.int64)
    for code in range(16):
        if not code & 12:
            continue
        x, b, y = 0, 1, 2
        edges = [(x, b), (b, y)]
        edges += [(b, x)] if code & 1 else []
        edges += [(y, b)] if code & 2 else []
        edges += [(x, y)] if code & 4 else []
        edges += [(y, x)] if code & 8 else []
        code_class[code] = _isoclass(edges)
    paths = np.zeros(N_TRIADS, dtype=np.int64)
    for c in CLOSED:
        adj = _class_adjacency(c)
        paths[c] = sum(bool(adj[x, b] and adj[b, y]) for x, b, y in itertools.permutations(range(3)))
    return code_class, paths


PATH_CODE_CLASS, PATHS_PER_CLOSED = _path_tables()
assert all(PATHS_PER_CLOSED[c] > 0 for c in CLOSED)  # every closed triad holds a directed 2-path
