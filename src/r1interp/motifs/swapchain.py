"""Compiled Markov chain over simple digraphs with fixed (stratified) in/out-degrees.

Why a chain and not stub matching: stub matching followed by repair of loops and repeated
edges is not uniform over simple graphs with the given degrees (on dense attribution graphs its
null means sit 5–10 standard errors off), and its repair stalls on dense layer pairs. A chain
whose proposals are symmetric, with in-place rejection, has the uniform distribution over the
simple graphs it can reach as its stationary law, never stalls, and is cheap when compiled.

State: edge *slots* sorted by (stratum, source). A slot's source and stratum never change; only
its target moves, so every node keeps its in- and out-degree within every stratum. The slots of
kept-sign strata (those with a partner of the other sign) are not kept current by the signed
moves, which work on the bits only: a move that reads such a slot rewrites its run from the
bits first, and the samplers (and :func:`sync_slots` after :func:`run_chain`) rewrite them all
before they hand the slots to a caller. The two-target trades of one-stratum chains do the same
with the runs they touch (marked stale; finding each moved slot in its run cost those trades
1.7–4× a row trade's time per unit of work). (Keeping them current cost more than half of a kept-sign
chain's time; rewriting them after every sample, ~5% of a small graph's.) Moves:

* **trade** (``1 − p_tri``; the "curveball" move of Strona et al. 2014 / Carstens 2016): a
  stratum drawn by its move weight (``SwapChain._move_weights``: its edges, except in kept-sign
  layer-pair chains, where a pair needs moves in proportion to its rows and columns and gets
  its trading sources plus targets), then sources ``a``, ``c`` uniform over that stratum's
  sources — not by degree, which spends most trades on hubs whose many shared targets leave little to trade: uniform sources
  relax the configuration null's triad counts 1.4–3× faster per CPU second (integrated
  autocorrelation × cost per unit of work, toy and dense graphs), ``layer_configuration``'s
  ~1.1–1.3×. Either way the pair's probability does not depend on the state. The targets only one of them may hold (``a``'s targets that ``c`` does not point to in any
  stratum and that are not ``c``, and vice versa) are pooled and re-dealt uniformly, each
  source keeping its count. The pool is the same before and after, so the proposal is
  symmetric; every double swap ``a→b, c→d ⇒ a→d, c→b`` is one possible deal, so trades reach
  whatever swaps reach, and a trade moves many edges for the price of one pass over two nodes —
  on dense graphs, where most swaps are rejected, it decorrelates far faster.
* **two-target trade** (``SwapChain.p_column`` of the trades within one stratum; the unsigned
  ``configuration`` chain): the trade's transpose — targets ``t0``, ``u0`` uniform over the
  stratum's targets re-deal the sources only one of them has, each target keeping its count.
  Row trades change which targets a source reaches one source pair at a time; which targets
  the high-out-degree sources reach then relaxes over ~30 × E on the toy graphs, a slow tail in
  the census (the FFL class above all) that the pilot extrapolates short.
* **triangle reversal** (``p_tri``; only where a stratum can hold a directed 3-cycle): a stratum
  by its move weight, in it slot ``j`` (``a→b``) uniform over those whose source has
  in-edges there too, node ``c`` uniform over the nodes with in- and out-edges there; a cycle
  ``a→b→c→a`` of one stratum whose reverse edges are all absent is reversed. Swaps alone cannot
  reach every digraph with given degrees (the 3-cycle and its reverse are the classic pair); with
  reversals they can (Rao, Jana & Bandyopadhyay 1996; Berger & Müller-Hannemann 2010). In
  layer-pair strata of forward edges no cycle exists, ``p_tri`` is 0, and swaps alone connect each
  (bipartite) layer pair (Ryser 1957).
* **signed trade** (instead of the trade where signs are kept, i.e. strata split by sign;
  ``p_sign`` = 1): a stratum (layer pair and sign) by its move weight, sources ``a``, ``c`` in a share
  ``p_uniform`` of the trades uniform over the sources of the slot's stratum (its sign), else by
  their out-degree in the pair (both signs) — all of them uniform in layer pairs; over a whole
  graph, those in the sign with fewer sources uniform and the others by degree
  (``nulls.P_UNIFORM_SOURCES`` has the measurements) — frozen ones left out
  (``SwapChain._frozen_slots``: a row no move can change, such as an embedding hub's that points
  to every target). Per target the pair (a's edge, c's edge) ∈ {none, +, −}² may only be
  swapped, and ``a`` must keep its count of each sign;
  the next state is drawn uniformly from all states that meet this (see the comment in
  :func:`run_chain`) — a heat-bath move on the two sources over both signs at once, symmetric, so
  the uniform law is kept. Per-sign trades cannot change which of two sources reaches a shared
  target with which sign: ``a→t (+), a→u (−), c→t (−), c→u (+)`` and its mirror are not linked by
  any of them, and on dense graphs a chain without such moves has visibly wrong signed null means
  (``tests/test_motifs_ensemble`` shows it).
* **two-target signed trade** (``P_COLUMN`` of the signed trades): the transpose — targets
  ``t0`` (by in-degree; where one pair spans the graph, plus ``nulls.MEDIATOR_WEIGHT`` × its
  out-degree) and ``u0`` (uniform over the layer pair's targets), neither frozen,
  exchange sources: per source the pair (edge to t0, edge to u0) may only be swapped and ``t0``
  keeps its count of each sign, same heat bath. Two-source moves alone are reducible on some
  signed degree sequences (three sources and two targets may have to change at once;
  ``tests/test_motifs_ensemble`` has such layer pairs).
* **anchored two-target signed trade** (``nulls.P_ANCHOR`` of the two-target signed trades, in
  the kept-sign chain whose one pair spans the graph): ``t0`` is one of the rarer-sign targets
  of a node ``X`` with a rare sign (as the three-row move's, below, but drawn by its
  commoner-sign out-degree: a hub's one rarer-sign edge matters most), drawn from the state, ``u0``
  uniform over every target of the pair (each once: not as above, which weighs a target by its
  signs), the same heat bath, a fixed charge of work. The heat bath keeps each source's pattern
  over the two targets up to a swap, so X's rarer-sign edges among them — and the pair's
  probability, since either target may be drawn second with the same chance — are the same
  before and after: symmetric with no acceptance step. Where one edge of a big
  source's rarer sign points is otherwise moved only when a two-target trade draws its target.
* **three-row move** (``nulls.P_THREE_ROW`` of the signed proposals, in the kept-sign chain whose
  one pair spans the graph, ``configuration``): a source ``X`` with both signs, one of them rare
  (``nulls.THREE_ROW_MINORITY``), a sign A and the other B, sources ``u`` (sign A) and ``v``
  (sign B) drawn without reading the state; then
  targets ``h`` (X: A, u: none, v: B), ``Z`` (X: B, v: none), ``Z'`` (u: A, X: none) uniform over
  the candidates. X's edge to ``h`` turns to B, X's B edge to ``Z`` goes to ``v`` and ``v``'s to
  ``h`` goes; ``u``'s A edge to ``Z'`` goes to X and ``u`` takes one to ``h``. Every signed degree
  is kept; the reverse is the same move with A/B and u/v swapped, and a Metropolis-Hastings
  ratio (candidate counts before over after) keeps the uniform law. On the toy think graphs a
  few embedding nodes have both signs and the logit hubs take edges from most sources, so
  which sign those nodes send to a hub is the kept-sign chain's slow mode: the trades change it
  only through rare intermediate states (the node without an edge to the hub), mostly undone.
* **hole trade** (``nulls.P_HOLE`` of the signed trades, in the kept-sign chain whose one pair
  spans the graph): a near-full column ``H`` (``nulls.HOLE_FILL``; on the toy think graphs the
  one logit, which all but 2–6 of ~70 sources reach), a sign by a coin, ``a`` uniform over
  ``H``'s holders of that sign and ``c`` over that sign's sources without an edge to ``H``; the
  signed heat bath re-deals the two rows. Holders of a sign are ``H``'s fixed signed in-degree;
  the heat bath keeps exactly one of the two holding ``H`` (with that sign), and both are
  sources of the sign, so the lackers' count is unchanged too: symmetric, no acceptance step.
  Which rows lack the logit was the slow mode — a single-edge row's one edge leaves it only
  when a trade pairs that row with one of the few rows lacking it (τ 80–165 × E on toy-base
  chain-1-think-p63 of the single-logit toy run).
* **hole three-row move** (``nulls.P_HOLE_THREE`` of the three-row moves): the three-row move
  with ``h`` = a near-full column ``H``, ``X`` any source with both signs that reaches ``H``
  (sign A there), ``u`` uniform over the sign-A sources without an edge to ``H`` and ``v`` over
  ``H``'s holders of sign B; the Metropolis-Hastings ratio takes those counts before and after
  with the candidate counts. A two-sign row's sign on the logit changes only with a row of the
  other sign lacking it, which the plain move finds by chance (``u`` uniform over all sources).
* **exact redraw** (kept signs; not a move of this chain but a step of the samplers, see
  :func:`redraw_tables`): a layer pair whose sources and targets are distinct nodes is
  constrained by no other pair's edges, and where it has few realizations with its signed
  degrees (at most ``ChainSchedule.exact_states``) they are enumerated once
  (:func:`signed_realizations`) and the pair is redrawn uniformly from them before every count —
  a Gibbs step on the pair, which keeps the uniform law. The moves above skip such pairs: they
  mix small pairs slowly (one of 7 sources × 4 targets with 16 realizations relaxed over ~450
  of them, and picked in proportion to its edges a 2-edge pair got few), and on dense graphs
  with many layers most pairs are small. A pair with a single realization (signed or not:
  nested rows into the logits, two-source pairs) is marked the same way in every trade chain,
  unsigned ones too (count 1, no table): no move can change it, and on the 6-layer toy think
  graphs such pairs held up to half the edges (20–51% on two of them), so up to half of the
  chain's work had gone to proposals that could only be rejected.
* **double swap** (``swap_only``): the classic move igraph's ``rewire`` makes, used instead of
  trades by the long reference chains that tests and the bench compare the sampler with.

The graph lives in two bit matrices (``out[u]`` and ``in[v]`` rows of ``ceil(n/64)`` words),
plus two of its negative edges where signs are kept: O(1) edge tests for the moves, signed
moves that run on row words (a source's edges of one layer pair, both signs, are its row
masked to the target layer), and word-parallel counts for the census of each sample
(:func:`triad_tally`, :func:`signed_tally`). Random numbers come from xoshiro256** seeded by the
caller's :class:`numpy.random.Generator`, so a run is reproducible from its seed.

Why every compiled function is in this one file (random numbers, bit rows, the exact pair
tables, the moves, the census kernels, the samplers): numba's on-disk cache (``cache=True``)
is invalidated only when the compiled function's *own* source file changes — a documented
limitation ("Notes on Caching": changes to symbols defined in another file are not
recognized; the numba pull requests that would track them, #8396 and #9563, were not merged).
A sampler's cached machine code holds the moves and census kernels it calls (linked or
inlined), so with those in other modules an edit to a kernel would leave the samplers running
the old code until ``__pycache__`` was cleared, silently (checked with numba 0.68.1: a cached
function calling one from another file kept returning the old callee's result after that file
changed). Here any edit recompiles everything that could depend on it.
"""

from __future__ import annotations

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from r1interp.artifacts import motif_labels as L

_U1 = np.uint64(1)
_M32 = np.uint64(0xFFFFFFFF)
_PATH_CLASS = L.PATH_CODE_CLASS.astype(np.int64)
P_COLUMN = 0.5
"""Share of the signed trades that exchange two targets' sources instead of two sources' targets.
Time per effective sample (cost per E of work × max integrated autocorrelation in E, 100,000
samples at 1 × E; kept-sign configuration / layer_configuration, µs) with the second target
uniform over the layer pair's targets (the first by in-degree) at 0.5, against both by in-degree
at 0.3 (before): toy think graphs of 221–331 edges 21.0/14.4, 12.0/11.1, 11.9/9.2, 22.4/13.1
against 24.0/13.7, 18.6/11.3, 15.2/10.2, 25.5/15.6; a toy answer graph 56.9/96.2 against
74.7/104.2; dense 6- and 21-layer graphs 57.9/78.8, 52.9/115.1 against 57.6/85.4, 53.1/118.7.
With the uniform second target, 0.3 was slower on most of these graphs (configuration 14.1–65.7)
and 0.7 about the same for configuration but slower for layer_configuration on the answer graph
(115.9). Sokal τ is ±7% at this length. On the 60 graphs of a later toy run (kept-sign
configuration only, 100,000 counts at 1 × E), 0.25 took 0.95× the time per effective sample on
toy-base's graphs (geometric mean; 0.57–1.40×) but 1.31× on toy-reasoner's (0.88–2.18×, 28 of 30
slower), though it cut τ 15–25% on the four slowest toy-base graphs (docs/motif-nulls.md)."""
THREE_ROW_VISITS = 8
"""Work charged for one three-row move (a fixed charge: the meter must not depend on the state;
any fixed charge gives the same law, only the unit of the thinning moves). It is less than the
move's CPU next to a trade's: at ``nulls.P_THREE_ROW`` = 0.25 the chain's CPU per E of work rose
by a median 9% on the toy graphs."""


# ---- random numbers (xoshiro256**) -----------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@nb.njit(cache=True, inline="always")
def _next(s):
    result = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@nb.njit(cache=True, inline="always")
def _below(s, m):
    """Uniform integer in ``0..m-1`` (``0 < m < 2**32``), unbiased (Lemire's method)."""
    mu = np.uint64(m)
    prod = (_next(s) >> np.uint64(32)) * mu
    low = prod & _M32
    if low < mu:
        thresh = (np.uint64(1 << 32) - mu) % mu
        while low < thresh:
            prod = (_next(s) >> np.uint64(32)) * mu
            low = prod & _M32
    return np.int64(prod >> np.uint64(32))


@nb.njit(cache=True, inline="always")
def _uniform(s):
    return np.float64(_next(s) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# ---- bit matrices ----------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _has(bits, u, v):
    return (bits[u, v >> 6] >> np.uint64(v & 63)) & _U1


@nb.njit(cache=True, inline="always")
def _set(bits, u, v):
    bits[u, v >> 6] |= _U1 << np.uint64(v & 63)


@nb.njit(cache=True, inline="always")
def _clear(bits, u, v):
    bits[u, v >> 6] &= ~(_U1 << np.uint64(v & 63))


@nb.njit(cache=True, inline="always")
def _add(out_b, in_b, u, v):
    """Edge ``u→v`` into both bit matrices."""
    _set(out_b, u, v)
    _set(in_b, v, u)


@nb.njit(cache=True, inline="always")
def _move(out_b, in_b, u, v, x, y):
    """Edge ``u→v`` becomes ``x→y`` in both bit matrices (the caller rewrites the slot)."""
    _clear(out_b, u, v)
    _clear(in_b, v, u)
    _add(out_b, in_b, x, y)


@intrinsic
def _ctpop(typingctx, x):
    """LLVM's ``ctpop`` on a ``uint64`` (one ``popcnt`` instruction on the host CPU): the census
    and the signed moves count and walk bits in their innermost loops."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@intrinsic
def _cttz(typingctx, x):
    """LLVM's ``cttz`` on a ``uint64``: the index of the lowest set bit."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 0))

    return types.uint64(types.uint64), codegen


@nb.njit(cache=True, inline="always")
def _popcount(x):
    return np.int64(_ctpop(x))


@nb.njit(cache=True, inline="always")
def _low_bit(x):
    """Index of the lowest set bit of a non-zero ``uint64``."""
    return np.int64(_cttz(x))


@nb.njit(cache=True)
def fill_bits(src, dst, out_b, in_b):
    """Zero ``out_b``/``in_b`` and set the edges ``src[e]→dst[e]``."""
    out_b[:] = 0
    in_b[:] = 0
    for e in range(src.size):
        _add(out_b, in_b, src[e], dst[e])


# ---- slot runs -------------------------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _run_start(src, lo, hi, u):
    """First slot in ``[lo, hi)`` (sorted by source) with source >= ``u``."""
    a, b = lo, hi
    while a < b:
        mid = (a + b) >> 1
        if src[mid] < u:
            a = mid + 1
        else:
            b = mid
    return a


@nb.njit(cache=True, inline="always")
def _run_end(src, a, hi, u):
    while a < hi and src[a] == u:
        a += 1
    return a


@nb.njit(cache=True, inline="always")
def _find_slot(src, tgt, lo, hi, u, v):
    """Slot in ``[lo, hi)`` (sorted by source) holding edge ``u→v``, or -1."""
    a = _run_start(src, lo, hi, u)
    while a < hi and src[a] == u:
        if tgt[a] == v:
            return a
        a += 1
    return -1


# ---- exact draws of small layer pairs --------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _next_combination(idx, k, m):
    """Advance ``idx[:k]`` (increasing indices into ``0..m-1``) to the next combination in
    lexicographic order; ``False`` after the last."""
    i = k - 1
    while i >= 0 and idx[i] == m - k + i:
        i -= 1
    if i < 0:
        return False
    idx[i] += 1
    for j in range(i + 1, k):
        idx[j] = idx[j - 1] + 1
    return True


@nb.njit(cache=True, inline="always")
def _combination_mask(cand, idx, k):
    """The column bits ``cand[idx[:k]]``."""
    mask = np.uint64(0)
    for i in range(k):
        mask |= _U1 << np.uint64(cand[idx[i]])
    return mask


@nb.njit(cache=True, inline="always")
def _columns_with_room(room, taken, out):
    """Write to ``out`` the columns with ``room`` left that are not in the bits ``taken``; their number."""
    m = 0
    for c in range(room.size):
        if room[c] > 0 and not (taken >> np.uint64(c)) & _U1:
            out[m] = c
            m += 1
    return m


@nb.njit(cache=True)
def signed_realizations(rp, rn, cp, cn, cap, budget):
    """Every sign matrix (rows: sources, columns: targets, ≤ 64 of each; entries none, +, −)
    with ``rp[i]``/``rn[i]`` excitatory/inhibitory entries in row ``i`` and ``cp[c]``/``cn[c]`` in
    column ``c``: ``(count, pos [cap, R], neg [cap, R])`` as column bit masks per row, or count
    -1 where there are more than ``cap`` or the search tries more than ``budget`` rows.

    Depth-first over the rows, fullest first; each row's + and then − columns are drawn lazily
    from the columns with room left (a list of every candidate row up front ran out of room on
    a 6 × 16 pair with 10 realizations: one row alone had C(16, 7) candidates). A placed row is
    kept only if no column is left with more room than rows below it, so dead branches end
    early. A step of the budget is a row tried and also a + combination whose − entries find no
    room: uncounted, those alone took 0.23 s on one 13 × 42 toy layer pair before it gave up
    (more than the null's sampling), and can run for C(T, rp) combinations."""
    R = rp.size
    T = cp.size
    pos_out = np.zeros((cap, R), np.uint64)
    neg_out = np.zeros((cap, R), np.uint64)
    order = np.argsort(-(rp + rn), kind="mergesort")
    room_p = cp.copy()
    room_n = cn.copy()
    cand_p = np.zeros((R, T), np.int64)
    cand_n = np.zeros((R, T), np.int64)
    m_p = np.zeros(R, np.int64)
    m_n = np.zeros(R, np.int64)
    idx_p = np.zeros((R, T), np.int64)
    idx_n = np.zeros((R, T), np.int64)
    row_p = np.zeros(R, np.uint64)  # the placed row's + / − columns, per depth
    row_n = np.zeros(R, np.uint64)
    count = 0
    steps = 0
    i = 0
    phase = 0  # 0: enter depth i; 1: new + combination, list the − candidates; 2: try; 3: next −; 4: next +
    while i >= 0:
        r = order[i]
        kp = rp[r]
        kn = rn[r]
        if phase == 0:
            m = _columns_with_room(room_p, np.uint64(0), cand_p[i])
            m_p[i] = m
            if kp > m:
                phase = 5
                continue
            for t in range(kp):
                idx_p[i, t] = t
            phase = 1
        elif phase == 1:
            steps += 1  # a + combination whose − entries find no room is a step too
            if steps > budget:
                return -1, pos_out, neg_out
            taken = _combination_mask(cand_p[i], idx_p[i], kp)
            m = _columns_with_room(room_n, taken, cand_n[i])
            m_n[i] = m
            if kn > m:
                phase = 4
                continue
            for t in range(kn):
                idx_n[i, t] = t
            row_p[i] = taken
            phase = 2
        elif phase == 2:
            steps += 1
            if steps > budget:
                return -1, pos_out, neg_out
            row_n[i] = _combination_mask(cand_n[i], idx_n[i], kn)
            _place(row_p[i], row_n[i], room_p, room_n, -1)
            below = R - 1 - i  # rows left to fill the room that is left
            ok = True
            for c in range(T):
                if room_p[c] + room_n[c] > below:
                    ok = False
                    break
            if ok and i == R - 1:  # every row placed and every column full: a realization
                if count == cap:
                    return -1, pos_out, neg_out
                for d in range(R):
                    pos_out[count, order[d]] = row_p[d]
                    neg_out[count, order[d]] = row_n[d]
                count += 1
                ok = False
            if ok:
                i += 1
                phase = 0
                continue
            _place(row_p[i], row_n[i], room_p, room_n, 1)
            phase = 3
        elif phase == 3:
            phase = 2 if _next_combination(idx_n[i], kn, m_n[i]) else 4
        elif phase == 4:
            phase = 1 if _next_combination(idx_p[i], kp, m_p[i]) else 5
        else:  # phase 5: depth i exhausted; back to the row above and its next − combination
            i -= 1
            if i >= 0:
                _place(row_p[i], row_n[i], room_p, room_n, 1)
                phase = 3
    return count, pos_out, neg_out


@nb.njit(cache=True, inline="always")
def _place(p, q, room_p, room_n, d):
    """Add ``d`` (-1: place, 1: take back) to the room left in the columns of bits ``p`` / ``q``."""
    while p:
        low = p & (~p + _U1)
        p ^= low
        room_p[_low_bit(low)] += d
    while q:
        low = q & (~q + _U1)
        q ^= low
        room_n[_low_bit(low)] += d


@nb.njit(cache=True)
def partner_runs(src, off, size, sid, partner):
    """``(lo, hi)`` per slot: the slot range of its source's run in the partner stratum (empty
    where there is none) — the other sign's edges of the same source and layer pair."""
    E = src.size
    lo = np.zeros(E, np.int64)
    hi = np.zeros(E, np.int64)
    for j in range(E):
        ps = partner[sid[j]]
        if ps < 0:
            continue
        plo = off[ps]
        phi = plo + size[ps]
        a = _run_start(src, plo, phi, src[j])
        lo[j] = a
        hi[j] = _run_end(src, a, phi, src[j])
    return lo, hi


@nb.njit(cache=True)
def source_runs(src, sid):
    """``(lo, hi)`` per slot: the slot range of its (stratum, source) run (slots are sorted)."""
    E = src.size
    lo = np.empty(E, np.int64)
    hi = np.empty(E, np.int64)
    start = 0
    for i in range(1, E + 1):
        if i == E or src[i] != src[start] or sid[i] != sid[start]:
            for j in range(start, i):
                lo[j] = start
                hi[j] = i
            start = i
    return lo, hi


# ---- pieces of the moves (inlined: a numba call with this many arrays costs more in reference
# counting than the move itself) ----------------------------------------------------------------
@nb.njit(cache=True, inline="always")
def _swap(a, i, j):
    t = a[i]
    a[i] = a[j]
    a[j] = t


@nb.njit(cache=True, inline="always")
def _only_sources(in_b, smask, s, x, y, pool, m):
    """Append to ``pool[m:]`` the sources of stratum ``s`` (``smask``) with an edge to ``x`` and
    none to ``y``, other than ``x`` and ``y`` (an edge between them cannot move: no loops);
    returns the new length."""
    for w in range(in_b.shape[1]):
        word = in_b[x, w] & ~in_b[y, w] & smask[s, w]
        while word:
            low = word & (~word + _U1)
            word ^= low
            v = w * 64 + _low_bit(low)
            pool[m] = v
            m += np.int64(v != x) & np.int64(v != y)
    return m


@nb.njit(cache=True, inline="always")
def _redeal(rng, m, na, idx, sel, back):
    """A uniform re-deal of a pool of ``m`` items, the first ``na`` held by one side and the rest
    by the other, each side keeping its count (a trade's targets, a two-target trade's sources):
    the smaller side draws a uniform subset of the pool (partial Fisher-Yates over positions), and
    only items that change side move. Returns ``(k, first)``: for ``i < k`` item ``idx[i]`` goes
    to the smaller side and item ``back[i]`` leaves it; ``first``: the first ``na`` are the
    smaller side's."""
    first = na <= m - na
    nmin = na if first else m - na
    small_lo = 0 if first else na  # pool positions the smaller side came from
    small_hi = na if first else m
    for i in range(m):
        idx[i] = i
        sel[i] = 0
    for i in range(nmin):
        _swap(idx, i, i + _below(rng, m - i))
        sel[idx[i]] = 1
    k = 0
    o = small_lo  # next position of the smaller side not drawn (it leaves)
    for q in range(nmin):
        p = idx[q]
        if small_lo <= p < small_hi:
            continue  # drawn and already the smaller side's
        while sel[o]:
            o += 1
        idx[k] = p
        back[k] = o
        k += 1
        o += 1
    return k, first


@nb.njit(cache=True, inline="always")
def _pick(rng, picks, pick_off, pick_size, row, s):
    """An entry uniform over row ``row`` of stratum ``s``'s pick table (non-empty)."""
    return picks[pick_off[row, s] + _below(rng, pick_size[row, s])]


@nb.njit(cache=True, inline="always")
def _r_bounds(nP, nN, nM, p0, q0, r0):
    """Range of ``r`` (M members taking state 1) that keeps both sign counts of the fixed side."""
    return max(0, r0 - q0, p0 + r0 - nP), min(nM, p0 + r0, nN - q0 + r0)


@nb.njit(cache=True, inline="always")
def _ratio(x, nP, nN, nM, p0, q0, r0):
    """``w(x+1)/w(x)`` for ``w(r) = C(nP, p) C(nN, q) C(nM, r)``, ``p = p0+r0-r``, ``q = q0-r0+r``."""
    p = p0 + r0 - x
    q = q0 - r0 + x
    return (np.float64(p) * (nN - q) * (nM - x)) / (np.float64(nP - p + 1) * (q + 1) * (x + 1))


@nb.njit(cache=True, inline="always")
def _draw_r(rng, r_lo, r_hi, nP, nN, nM, p0, q0, r0):
    """``r`` in ``[r_lo, r_hi]`` with weight ``w(r)`` (:func:`_ratio`); two passes (total, pick)."""
    rr = r_lo
    if r_hi > r_lo:
        total = 0.0
        w = 1.0
        for x in range(r_lo, r_hi + 1):
            total += w
            w *= _ratio(x, nP, nN, nM, p0, q0, r0)
        target = _uniform(rng) * total
        w = 1.0
        cum = 0.0
        for x in range(r_lo, r_hi + 1):
            cum += w
            rr = x
            if cum > target:
                break
            w *= _ratio(x, nP, nN, nM, p0, q0, r0)
    return rr


@nb.njit(cache=True, inline="always")
def _pick_stratum(rng, cum, total):
    """A stratum drawn with probability proportional to its weight: the first ``s`` with
    ``cum[s] > u · total`` (binary search; strata of weight 0 are never drawn)."""
    u = _uniform(rng) * total
    lo = 0
    hi = cum.size - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cum[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@nb.njit(cache=True, inline="always")
def _flip(bits, u, v):
    bits[u, v >> 6] ^= _U1 << np.uint64(v & 63)


@nb.njit(cache=True, inline="always")
def _append_bits(word, w, out, k):
    """Append the positions of ``word``'s set bits (``word`` is row word ``w``) to ``out[k:]``."""
    while word:
        low = word & (~word + _U1)
        word ^= low
        out[k] = w * 64 + _low_bit(low)
        k += 1
    return k


@nb.njit(cache=True, inline="always")
def _row_mask(masks, s, w, skip1, skip2):
    """Word ``w`` of ``masks[s]`` without the bits ``skip1`` and ``skip2`` (the two rows' own nodes)."""
    m = masks[s, w]
    if (skip1 >> 6) == w:
        m &= ~(_U1 << np.uint64(skip1 & 63))
    if (skip2 >> 6) == w:
        m &= ~(_U1 << np.uint64(skip2 & 63))
    return m


@nb.njit(cache=True, inline="always")
def _sign_split(o, ng, neg_s):
    """``(S, T)``: the bits of row word ``o`` whose edge has the sign of stratum ``s`` / its partner."""
    if neg_s:
        return ng, o ^ ng
    return o ^ ng, ng


@nb.njit(cache=True, inline="always")
def _choose(rng, members, npool, take, ws, row):
    """Set in ``ws[row]`` (row words) a uniform ``take``-subset of the ``npool`` bit positions in
    ``members`` (partial Fisher-Yates over the smaller side). Rows go by index: a row view per
    call costs more than the draw."""
    if take <= npool - take:
        for i in range(take):
            _swap(members, i, i + _below(rng, npool - i))
            t = members[i]
            ws[row, t >> 6] |= _U1 << np.uint64(t & 63)
        return
    rest = npool - take
    for i in range(rest):
        _swap(members, i, i + _below(rng, npool - i))
    for i in range(rest, npool):
        t = members[i]
        ws[row, t >> 6] |= _U1 << np.uint64(t & 63)


@nb.njit(cache=True, inline="always")
def _select_bit(ws, row, i):
    """``(word, bit)`` of the ``i``-th (from 0) set bit of the row words ``ws[row]``."""
    w = 0
    x = ws[row, 0]
    while True:
        pc = _popcount(x)
        if i < pc:
            break
        i -= pc
        w += 1
        x = ws[row, w]
    for _ in range(i):
        x &= x - _U1
    return w, x & (~x + _U1)


@nb.njit(cache=True, inline="always")
def _choose_words(rng, ws, cls, npool, take, row, members):
    """Set ``ws[row]`` (zeroed by the caller) to a uniform ``take``-subset of the ``npool`` set
    bits of ``ws[cls]``. The common small cases (none, one, all but one, all) pick straight from
    the words; the rest lists the bits into ``members`` for :func:`_choose`. Same draws and
    result as :func:`_choose` on the bits in order, so a seed gives the same chain as before."""
    W = ws.shape[1]
    if take == 0:
        return
    if take == 1 and npool > 1:
        w, low = _select_bit(ws, cls, _below(rng, npool))
        ws[row, w] = low
        return
    if take == npool or take == npool - 1:
        for w in range(W):
            ws[row, w] = ws[cls, w]
        if take == npool - 1:
            w, low = _select_bit(ws, cls, _below(rng, npool))
            ws[row, w] ^= low
        return
    k = 0
    for w in range(W):
        k = _append_bits(ws[cls, w], w, members, k)
    _choose(rng, members, npool, take, ws, row)


# Inlined at run_chain's one call site (both signed moves share it): a compiled call here cost
# ~10% of a kept-sign chain's time; two inlined copies made run_chain take ~60 s to compile.
@nb.njit(cache=True, inline="always")
def _signed_heat_bath(rng, O, NG, a, c, masks, s, neg_s, ws, lP, lN, lM):
    """The signed heat bath on rows ``a`` and ``c`` of ``O`` (all edges) and ``NG`` (negative
    edges), word-parallel; returns whether the rows changed.

    Within ``masks[s]`` (minus bits ``a``, ``c``), per column the pair (a's entry, c's entry) in
    {none, S, T}² (S: the sign of stratum ``s``, negative iff ``neg_s``; T: the other) may only be
    swapped and row ``a`` keeps its count of each sign; the new rows are drawn uniformly from all
    that satisfy this (:func:`run_chain` explains why the move is symmetric). The new rows are
    written in place; ``ws[6:10]`` get the changed bits of ``O[a]``, ``NG[a]``, ``O[c]``,
    ``NG[c]`` for the caller to mirror in the transposed matrices.
    """
    W = O.shape[1]
    nP, nN, nM, p0, q0, r0 = 0, 0, 0, 0, 0, 0
    for w in range(W):  # the three classes as row words; a's share of each counted
        m = _row_mask(masks, s, w, a, c)
        if m == 0:  # words no edge of the layer pair can reach (nodes come targets first: bit_order)
            ws[0, w] = 0
            ws[1, w] = 0
            ws[2, w] = 0
            continue
        oa = O[a, w] & m
        oc = O[c, w] & m
        sa, ta = _sign_split(oa, NG[a, w] & m, neg_s)
        sc, tc = _sign_split(oc, NG[c, w] & m, neg_s)
        ap, an, am = sa & ~oc, ta & ~oc, sa & tc  # a's side of the classes P {S, -}, N {T, -}, M {S, T}
        cp, cn, cm = sc & ~oa, tc & ~oa, ta & sc
        ws[0, w] = ap | cp
        ws[1, w] = an | cn
        ws[2, w] = am | cm
        p0 += _popcount(ap)
        q0 += _popcount(an)
        r0 += _popcount(am)
        nP += _popcount(ap) + _popcount(cp)
        nN += _popcount(an) + _popcount(cn)
        nM += _popcount(am) + _popcount(cm)
    r_lo, r_hi = _r_bounds(nP, nN, nM, p0, q0, r0)
    p = p0 + r0 - r_lo
    q = q0 - r0 + r_lo
    # a single admissible state, the current one (most proposals on dense graphs); one branch,
    # not four: the outcome is unpredictable and mispredictions cost ~20% of the call
    if (r_lo == r_hi) & ((p == 0) | (p == nP)) & ((q == 0) | (q == nN)) & ((r_lo == 0) | (r_lo == nM)):
        return False
    for w in range(W):
        ws[3, w] = 0
        ws[4, w] = 0
        ws[5, w] = 0
    rr = _draw_r(rng, r_lo, r_hi, nP, nN, nM, p0, q0, r0)
    _choose_words(rng, ws, 0, nP, p0 + r0 - rr, 3, lP)  # a keeps/gets S on these P columns
    _choose_words(rng, ws, 1, nN, q0 - r0 + rr, 4, lN)  # a gets T on these N columns
    _choose_words(rng, ws, 2, nM, rr, 5, lM)  # a gets S (c gets T) on these M columns
    changed = False
    for w in range(W):
        cls = ws[0, w] | ws[1, w] | ws[2, w]
        ws[6, w] = 0
        ws[7, w] = 0
        ws[8, w] = 0
        ws[9, w] = 0
        if cls == 0:
            continue
        m = _row_mask(masks, s, w, a, c)
        oa = O[a, w] & m
        oc = O[c, w] & m
        sa, ta = _sign_split(oa, NG[a, w] & m, neg_s)
        sc, tc = _sign_split(oc, NG[c, w] & m, neg_s)
        m_not = ws[2, w] & ~ws[5, w]
        sa2 = (sa & ~cls) | ws[3, w] | ws[5, w]
        ta2 = (ta & ~cls) | ws[4, w] | m_not
        sc2 = (sc & ~cls) | (ws[0, w] & ~ws[3, w]) | m_not
        tc2 = (tc & ~cls) | (ws[1, w] & ~ws[4, w]) | ws[5, w]
        oa_new = (O[a, w] & ~m) | sa2 | ta2
        oc_new = (O[c, w] & ~m) | sc2 | tc2
        na_new = (NG[a, w] & ~m) | (sa2 if neg_s else ta2)
        nc_new = (NG[c, w] & ~m) | (sc2 if neg_s else tc2)
        ws[6, w] = O[a, w] ^ oa_new
        ws[7, w] = NG[a, w] ^ na_new
        ws[8, w] = O[c, w] ^ oc_new
        ws[9, w] = NG[c, w] ^ nc_new
        if ws[6, w] | ws[7, w] | ws[8, w] | ws[9, w]:
            changed = True
        O[a, w] = oa_new
        NG[a, w] = na_new
        O[c, w] = oc_new
        NG[c, w] = nc_new
    return changed


@nb.njit(cache=True, inline="always")
def _count_without(ws, row, v):
    """Clear bit ``v`` of the row words ``ws[row]`` and count the bits left."""
    _clear(ws, row, v)
    n = 0
    for w in range(ws.shape[1]):
        n += _popcount(ws[row, w])
    return n


@nb.njit(cache=True, inline="always")
def _three_row_sets(O, NG, X, u, v, negA, negB, mask, s, ws, base):
    """The three-row move's candidates as row words, and their sizes ``(nH, nZ, nZp)``:
    ``ws[base]`` the targets ``h`` where ``X`` has sign A, ``u`` nothing, ``v`` sign B (``h ≠ u``);
    ``ws[base + 1]`` the targets ``Z`` where ``X`` has sign B and ``v`` nothing (``Z ≠ v``);
    ``ws[base + 2]`` the targets ``Z'`` where ``u`` has sign A and ``X`` nothing (``Z' ≠ X``),
    all within ``mask[s]`` (the stratum's target layer). Stops at the first empty one (most
    proposals), returning zeros from there."""
    for w in range(O.shape[1]):
        ws[base, w] = _sign_split(O[X, w], NG[X, w], negA)[0] & ~O[u, w] & _sign_split(O[v, w], NG[v, w], negB)[0] & mask[s, w]
    nH = _count_without(ws, base, u)
    if nH == 0:
        return 0, 0, 0
    for w in range(O.shape[1]):
        ws[base + 1, w] = _sign_split(O[X, w], NG[X, w], negB)[0] & ~O[v, w] & mask[s, w]
    nZ = _count_without(ws, base + 1, v)
    if nZ == 0:
        return nH, 0, 0
    for w in range(O.shape[1]):
        ws[base + 2, w] = _sign_split(O[u, w], NG[u, w], negA)[0] & ~O[X, w] & mask[s, w]
    return nH, nZ, _count_without(ws, base + 2, X)


@nb.njit(cache=True, inline="always")
def _draw_bit(rng, ws, row, count):
    """A node uniform over the ``count`` set bits of the row words ``ws[row]``."""
    wq, bq = _select_bit(ws, row, _below(rng, count))
    return wq * 64 + _low_bit(bq)


@nb.njit(cache=True, inline="always")
def _holes_of_sign(in_b, smask, row, H, ws, out):
    """``ws[out]``: the sources in ``smask[row]`` without an edge to ``H`` (``H`` left out); their count."""
    k = 0
    for w in range(in_b.shape[1]):
        x = smask[row, w] & ~in_b[H, w]
        if (H >> 6) == w:
            x &= ~(_U1 << np.uint64(H & 63))
        ws[out, w] = x
        k += _popcount(x)
    return k


@nb.njit(cache=True, inline="always")
def _holders_of_sign(in_b, neg_in, H, negative, ws, out):
    """``ws[out]``: the sources with an edge of the given sign to ``H``; their count."""
    k = 0
    for w in range(in_b.shape[1]):
        x = neg_in[H, w] if negative else in_b[H, w] & ~neg_in[H, w]
        ws[out, w] = x
        k += _popcount(x)
    return k


@nb.njit(cache=True, inline="always")
def _three_row_turn(out_b, in_b, neg_out, neg_in, X, h, Z, Zp, negA, negB):
    """``X``'s part of the three-row move (bit flips: its own inverse): its edge to ``h`` turns
    from sign A to B, its B edge to ``Z`` goes, an A edge to ``Z'`` comes."""
    _flip(neg_out, X, h)
    _flip(neg_in, h, X)
    _flip(out_b, X, Z)
    _flip(in_b, Z, X)
    if negB:
        _flip(neg_out, X, Z)
        _flip(neg_in, Z, X)
    _flip(out_b, X, Zp)
    _flip(in_b, Zp, X)
    if negA:
        _flip(neg_out, X, Zp)
        _flip(neg_in, Zp, X)


@nb.njit(cache=True, inline="always")
def _three_row_apply(out_b, in_b, neg_out, neg_in, X, u, v, h, Z, Zp, negA, negB):
    """The three-row move: ``X`` turns (:func:`_three_row_turn`), ``u``'s A edge moves from ``Z'``
    to ``h`` and ``v``'s B edge from ``h`` to ``Z``."""
    _three_row_turn(out_b, in_b, neg_out, neg_in, X, h, Z, Zp, negA, negB)
    _move_signed(out_b, in_b, neg_out, neg_in, negA, u, Zp, u, h)
    _move_signed(out_b, in_b, neg_out, neg_in, negB, v, h, v, Z)


@nb.njit(cache=True, inline="always")
def _three_row_undo(out_b, in_b, neg_out, neg_in, X, u, v, h, Z, Zp, negA, negB):
    """The inverse of :func:`_three_row_apply` (a rejected proposal)."""
    _move_signed(out_b, in_b, neg_out, neg_in, negB, v, Z, v, h)
    _move_signed(out_b, in_b, neg_out, neg_in, negA, u, h, u, Zp)
    _three_row_turn(out_b, in_b, neg_out, neg_in, X, h, Z, Zp, negA, negB)


@nb.njit(cache=True, inline="always")
def _mirror_changes(T, TN, ws, a, c):
    """Mirror the changed bits ``ws[6:10]`` of rows ``a`` and ``c`` into the transposed matrices."""
    for w in range(T.shape[1]):
        for h in range(4):
            x = ws[6 + h, w]
            node = a if h < 2 else c
            mat = T if h % 2 == 0 else TN
            while x:
                low = x & (~x + _U1)
                x ^= low
                _flip(mat, w * 64 + _low_bit(low), node)


@nb.njit(cache=True, inline="always")
def _write_run(tgt, lo, hi, O, NG, u, masks, s, negative):
    """Rewrite the slots ``[lo, hi)`` with ``u``'s targets in ``mask`` of one sign (bit order)."""
    i = lo
    for w in range(O.shape[1]):
        x = O[u, w] & masks[s, w]
        x = (x & NG[u, w]) if negative else (x & ~NG[u, w])
        while x and i < hi:
            low = x & (~x + _U1)
            x ^= low
            tgt[i] = w * 64 + _low_bit(low)
            i += 1


@nb.njit(cache=True, inline="always")
def _refresh_run(tgt, lo, hi, O, NG, u, masks, s, sneg, partner, stale):
    """Rewrite ``u``'s run ``[lo, hi)`` of stratum ``s`` from the bits if ``s`` has a partner
    (kept signs: the signed moves keep only the bits of those strata, not their slots) or
    ``stale[u]`` (a two-target trade moved one of its edges: those move bits only, and run only
    in chains with one stratum per sign, so a node has one run there)."""
    if partner[s] >= 0 or stale[u]:
        _write_run(tgt, lo, hi, O, NG, u, masks, s, sneg[s] != 0)
        stale[u] = 0


@nb.njit(cache=True, inline="always")
def _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, stale):
    """Rewrite every slot of the strata with a partner, and every stale run, from the bits (none
    unless the chain keeps signs or makes two-target trades, ``shares[1]`` or ``shares[5]`` > 0).
    The samplers do it before they read or return the edge list and :func:`sync_slots` after
    :func:`run_chain`, so callers always see slots that match the bits; between samples no move
    needs it (each refreshes the runs it reads)."""
    if shares[1] <= 0.0 and shares[5] <= 0.0:
        return
    j = 0
    while j < src.size:
        _refresh_run(tgt, j, run_hi[j], out_b, neg_out, src[j], tmask, sid[j], sneg, partner, stale)
        j = run_hi[j]


@nb.njit(cache=True, inline="always")
def _move_signed(out_b, in_b, neg_out, neg_in, negative, u, v, x, y):
    """Edge ``u→v`` becomes ``x→y``, in the negative-edge matrices too when it is ``negative``."""
    _move(out_b, in_b, u, v, x, y)
    if negative:
        _move(neg_out, neg_in, u, v, x, y)


# ---- the chain -------------------------------------------------------------------------------
# ``_nrt=False``: the chain allocates nothing and only borrows its caller's arrays, but numba
# still brackets every array handed to an inlined helper with atomic reference-count updates
# (dozens per signed move); without them the kept-sign chain runs ~1.5-1.8x faster.
@nb.njit(cache=True, _nrt=False)
def run_chain(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_steps, rng, scratch, ws, swap_only=False):
    """Moves in place until ``n_steps`` *slot visits* are spent; returns ``(accepted, proposals)``.

    Work is metered in slot visits (a trade visits the slots of both its sources, a triangle
    proposal counts 1) so one schedule fits graphs whose strata have very different degrees.
    ``scratch``: int64 ``[6, max(2 * (longest run) + 2, n + 1)]`` work space (row 4: the
    nodes whose run a two-target trade left behind the bits, kept between calls; row 5: what a
    re-deal moves back, :func:`_redeal`); ``ws``: uint64
    ``[10, W]`` row-word work space of the signed moves;
    ``picks[pick_off[i, s] :][: pick_size[i, s]]``: what the moves of stratum ``s`` pick from
    (``SwapChain._pick_tables``): ``i = 0`` the first slots of its source runs (trades' sources),
    1 its targets once each, 3 by in-degree (two-target moves' targets), 2 slots of its layer
    pair's sources by out-degree (signed trades' sources), frozen nodes left out of 1-3; 4 its
    slots whose source has in-edges in it too, 5 its nodes with in- and out-edges (triangles),
    6 the nodes a three-row move takes as ``X`` (one segment per pair, as row 2), 7 the hole
    moves' near-full columns and 8 a hole three-row move's ``X`` (both per pair, as row 2).
    ``partner[s]``: the stratum of the same layer pair with the other sign (-1: none);
    ``neg_out``/``neg_in``: the negative edges (kept in step with ``out_b``/``in_b`` on strata
    with ``sneg[s]``); ``tmask[s]``/``smask[s]``: the nodes stratum ``s``'s edges may point to /
    come from (its target / source layer; ``smask[strata + s]``: stratum ``s``'s own sources, the
    hole moves' rows of one sign) — so a source's edges of a layer pair, both signs, are
    one masked row, and the signed moves run word-parallel. ``shares``: float64, the share
    of triangle-reversal proposals, of signed trades on a layer pair with both signs, and of
    signed trades whose sources are uniform over the slot's stratum's sources — where that
    stratum has as many sources as its partner or more, and where it has fewer
    (``nulls.P_TRIANGLE``, ``P_SIGN``, ``P_UNIFORM_SOURCES``; one array, as CPython passes more
    than 30 arguments as a tuple, which numba cannot inline), the share of signed proposals that
    are three-row moves (``nulls.P_THREE_ROW``), the share of the moves within one stratum
    that are two-target trades (``SwapChain.p_column``), the share of the signed two-target
    trades that are anchored (``nulls.P_ANCHOR``), of the signed trades that are hole trades
    (``nulls.P_HOLE``) and of the three-row moves anchored on a near-full column
    (``nulls.P_HOLE_THREE``), then per stratum the cumulative weight
    with which a move picks it (``[9 + strata]``; 0 for the pairs with a table or a single
    realization; ``SwapChain._move_weights``).
    """
    E = src.size
    W = out_b.shape[1]
    p_tri, p_sign, p_uniform, p_uniform_few, p_three, p_column, p_anchor, p_hole, p_hole_three = shares[0], shares[1], shares[2], shares[3], shares[4], shares[5], shares[6], shares[7], shares[8]
    accepted = 0
    proposals = 0
    if E < 2:
        return 0, 0
    n = out_b.shape[0]
    pool = scratch[0]
    slots = scratch[1]
    idx = scratch[2]
    sel = scratch[3]
    stale = scratch[4]  # per node: its run is behind the bits (moved by a two-target trade)
    back = scratch[5]
    n_strata = size.size
    hole_visits = 2 * E // max(1, pick_size[0].sum())  # a hole trade's fixed charge: two mean rows
    anchor_visits = 2 * E // max(1, pick_size[1].sum())  # an anchored two-target trade's: two mean columns
    cum = shares[9:]  # cumulative pick weight per stratum (0 for pairs the moves leave alone)
    total = cum[n_strata - 1] if n_strata > 0 else 0.0
    if total <= 0.0:
        return 0, 0
    visits = 0
    while visits < n_steps:
        proposals += 1
        visits += 1
        if p_tri > 0.0 and _uniform(rng) < p_tri:
            # a stratum by its move weight; in it a slot a->b whose source has in-
            # and out-edges there and a node c with both (picks rows 4, 5): only such nodes lie
            # on a cycle, and the picks do not depend on the state
            s = _pick_stratum(rng, cum, total)
            if pick_size[5, s] < 3:
                continue
            j = _pick(rng, picks, pick_off, pick_size, 4, s)
            a = src[j]
            _refresh_run(tgt, run_lo[j], run_hi[j], out_b, neg_out, a, tmask, s, sneg, partner, stale)
            b = tgt[j]
            c = _pick(rng, picks, pick_off, pick_size, 5, s)
            if c == a or c == b:
                continue
            if not _has(out_b, b, c) or not _has(out_b, c, a):
                continue
            if _has(out_b, a, c) or _has(out_b, c, b) or _has(out_b, b, a):
                continue
            lo = off[s]
            hi = lo + size[s]
            for x in (b, c):  # the slots of b and c may be behind the bits
                if partner[s] >= 0 or stale[x]:
                    r0 = _run_start(src, lo, hi, x)
                    _refresh_run(tgt, r0, _run_end(src, r0, hi, x), out_b, neg_out, x, tmask, s, sneg, partner, stale)
            k = _find_slot(src, tgt, lo, hi, b, c)
            if k < 0:
                continue
            m = _find_slot(src, tgt, lo, hi, c, a)
            if m < 0:
                continue
            negative = sneg[s] != 0
            _move_signed(out_b, in_b, neg_out, neg_in, negative, a, b, b, a)  # reverse the cycle a->b->c->a
            _move_signed(out_b, in_b, neg_out, neg_in, negative, b, c, c, b)
            _move_signed(out_b, in_b, neg_out, neg_in, negative, c, a, a, c)
            tgt[j] = c
            tgt[k] = a
            tgt[m] = b
            accepted += 1
            continue
        s = _pick_stratum(rng, cum, total)  # pairs with a table are redrawn exactly at every sample instead
        j = off[s] + _below(rng, size[s])  # a slot uniform in s: the double swap's first edge (the trades pick their own)
        ps = partner[s]
        # a layer pair with both signs (no draw when p_sign is 1: ~3% of a kept-sign chain)
        if ps >= 0 and p_sign > 0.0 and (p_sign >= 1.0 or _uniform(rng) < p_sign):
            neg_s = sneg[s] != 0
            if p_three > 0.0 and _uniform(rng) < p_three:
                # three-row move (Metropolis-Hastings): X uniform over the pair's sources with
                # both signs, one of them rare (picks row 6: nulls.THREE_ROW_MINORITY), a sign A
                # and the other B (a coin), u uniform over the sources of sign A and v over
                # those of B (picks rows 0; no state read). Then h, Z, Z'
                # uniform over the candidates (_three_row_sets): X's edge to h turns from A to B
                # (u takes the A edge to h and gives X its A edge to Z'; v gives its B edge to h
                # and takes X's B edge to Z). Every degree of every sign is kept. The reverse is
                # the same move with A and B, and u and v, swapped, so the ratio of proposal
                # probabilities is the product of the candidate counts after over before.
                # Two-row and two-column moves change a saturated hub's signs only through
                # intermediate states that are rare and mostly undone (docs/motif-nulls.md).
                visits += THREE_ROW_VISITS
                hole = p_hole_three > 0.0 and pick_size[7, s] > 0 and pick_size[8, s] > 0 and _uniform(rng) < p_hole_three
                if not hole and pick_size[6, s] == 0:
                    continue
                X = _pick(rng, picks, pick_off, pick_size, 8 if hole else 6, s)
                if hole:
                    # anchored on a near-full column H (picks row 7): h = H, A = X's sign there,
                    # u uniform over the sign-A sources without an edge to H (smask row
                    # strata + sA), v over H's holders of sign B; their counts before and after
                    # enter the ratio (v's are H's fixed signed in-degrees)
                    H = _pick(rng, picks, pick_off, pick_size, 7, s)
                    if not _has(out_b, X, H):
                        continue
                    if _has(neg_out, X, H) == (sneg[s] != 0):
                        sA, sB = s, ps
                    else:
                        sA, sB = ps, s
                else:
                    if _uniform(rng) < 0.5:
                        sA, sB = s, ps
                    else:
                        sA, sB = ps, s
                if pick_size[0, sA] == 0 or pick_size[0, sB] == 0:
                    continue
                negA = sneg[sA] != 0
                negB = sneg[sB] != 0
                fwd = 1.0
                if hole:
                    nu = _holes_of_sign(in_b, smask, n_strata + sA, H, ws, 0)
                    nv = _holders_of_sign(in_b, neg_in, H, negB, ws, 1)
                    if nu == 0 or nv == 0:
                        continue
                    u = _draw_bit(rng, ws, 0, nu)
                    v = _draw_bit(rng, ws, 1, nv)
                    fwd = nu * nv
                else:
                    u = src[_pick(rng, picks, pick_off, pick_size, 0, sA)]
                    v = src[_pick(rng, picks, pick_off, pick_size, 0, sB)]
                if u == X or v == X or u == v:
                    continue
                nH, nZ, nZp = _three_row_sets(out_b, neg_out, X, u, v, negA, negB, tmask, s, ws, 0)
                if nH == 0 or nZ == 0 or nZp == 0:
                    continue
                if hole:
                    h = H
                    nH = 1  # h is not drawn
                else:
                    wq, bq = _select_bit(ws, 0, _below(rng, nH))
                    h = wq * 64 + _low_bit(bq)
                wq, bq = _select_bit(ws, 1, _below(rng, nZ))
                Z = wq * 64 + _low_bit(bq)
                wq, bq = _select_bit(ws, 2, _below(rng, nZp))
                Zp = wq * 64 + _low_bit(bq)
                _three_row_apply(out_b, in_b, neg_out, neg_in, X, u, v, h, Z, Zp, negA, negB)
                rH, rZ, rZp = _three_row_sets(out_b, neg_out, X, v, u, negB, negA, tmask, s, ws, 3)  # the reverse's candidates
                if hole:
                    rH = _holes_of_sign(in_b, smask, n_strata + sB, H, ws, 3) * _holders_of_sign(in_b, neg_in, H, negA, ws, 4)
                ratio = (fwd * nH * nZ * nZp) / (rH * rZ * rZp)
                if ratio >= 1.0 or _uniform(rng) < ratio:
                    accepted += 1
                    continue
                _three_row_undo(out_b, in_b, neg_out, neg_in, X, u, v, h, Z, Zp, negA, negB)
                continue
            if _uniform(rng) < P_COLUMN:
                # two-target signed trade: the transpose of the move below. Targets t0, u0 of one
                # layer pair; per source x the pair (x's edge to t0, x's edge to u0) may only be
                # swapped (x keeps its signed out-degree), and t0 keeps its count of each sign.
                # Two-source moves alone cannot link every realization (3 sources and 2 targets
                # may have to change at once: tests/test_motifs_ensemble).
                # t0 weighted by its in-degree in stratum s (as a slot's target would be; plus
                # nulls.MEDIATOR_WEIGHT x its out-degree where one pair spans the graph), u0 uniform
                # over the layer pair's targets, neither frozen (picks rows 3, 1): both independent
                # of the state, and the pair's probability symmetric in the two. Two targets by
                # in-degree pair the hubs (a logit with most sources as in-neighbours) with each
                # other, where there is little to exchange.
                if p_anchor > 0.0 and pick_size[9, s] > 0 and _uniform(rng) < p_anchor:
                    # anchored (nulls.P_ANCHOR): t0 one of the rarer-sign targets of a node X
                    # (picks row 9: row 6's nodes by their commoner-sign out-degree), uniformly
                    # (its signed degrees tell which sign is rarer); symmetric because the heat
                    # bath keeps X's rarer-sign edges among t0, u0
                    X = _pick(rng, picks, pick_off, pick_size, 9, s)
                    nr = 0
                    npos = 0
                    for w in range(W):
                        nr += _popcount(neg_out[X, w] & tmask[s, w])
                        npos += _popcount(out_b[X, w] & tmask[s, w])
                    npos -= nr
                    rare_neg = nr <= npos
                    for w in range(W):
                        ws[0, w] = _sign_split(out_b[X, w], neg_out[X, w], rare_neg)[0] & tmask[s, w]
                    wq, bq = _select_bit(ws, 0, _below(rng, nr if rare_neg else npos))
                    t0 = wq * 64 + _low_bit(bq)
                    # u0 uniform over every target of the pair, each once (tmask: the nodes with
                    # in-edges), and a fixed charge: t0 comes from the state, so the reverse move
                    # draws t0 as its second target, which must be as likely as u0 was; and a
                    # charge by t0's in-degree would meter work by the state (rows 1 weight a
                    # target by its signs and leave frozen ones out: with them, and the in-degree
                    # charge, toy-base chain-0-think-p49's ffl_C4 mean sat 7 SE off a swap chain)
                    nt = 0
                    for w in range(W):
                        nt += _popcount(tmask[s, w])
                    u0 = _draw_bit(rng, tmask, s, nt)
                    if t0 == u0:
                        continue
                    visits += anchor_visits
                else:
                    if pick_size[3, s] == 0:
                        continue
                    t0 = _pick(rng, picks, pick_off, pick_size, 3, s)
                    r = _below(rng, pick_size[1, s] + pick_size[1, ps])
                    if r < pick_size[1, s]:
                        u0 = picks[pick_off[1, s] + r]
                    else:
                        u0 = picks[pick_off[1, ps] + r - pick_size[1, s]]
                    if t0 == u0:
                        continue
                    for w in range(W):
                        visits += _popcount(in_b[t0, w]) + _popcount(in_b[u0, w])  # fixed in-degrees
                column = True
                x, y = t0, u0
            else:
                # signed trade (kept signs): a heat-bath re-deal of everything sources a and c may
                # exchange within one layer pair split by sign (strata s, ps). Per target t the pair
                # (a's edge to t, c's edge to t) in {none, s, ps}^2 may only be swapped (t keeps its
                # signed in-degree); targets where the two differ fall in three classes, {s, none}
                # (P), {ps, none} (N), {s, ps} (M), and a must keep its count of each sign: with p, q,
                # r the numbers of P, N, M targets a holds with sign s, ps, s, p + r and q - r are
                # fixed. The next state is uniform over all states that satisfy this (r with weight
                # C(|P|,p) C(|N|,q) C(|M|,r), then uniform subsets) - the same set from each of its
                # members, so the move is symmetric. It contains the per-sign trades and the sign
                # re-deals (the same exchange restricted to the {s, ps} targets at fixed counts) and
                # couples them: without that coupling, trades and re-deals (and swaps and re-deals)
                # are reducible on some signed degree sequences (tests/test_motifs_ensemble).
                # A source's edges of one layer pair are its row masked to the target layer, so the
                # move runs on row words (:func:`_signed_heat_bath`).
                # Sources a, c (neither frozen) uniform over the sources of stratum s (picks row
                # 0) in a share p_uniform of the trades (p_uniform_few where s has fewer sources
                # than its partner: fixed per stratum), else by their out-degree in the layer pair
                # (row 2); either way one slot of each, whose run and partner run are its edges of
                # the pair. A source with edges of one sign only is in one row 0: the pairs this
                # leaves out (one source of each sign only) have a single admissible state.
                pu = p_uniform_few if pick_size[0, s] < pick_size[0, ps] else p_uniform
                if p_hole > 0.0 and pick_size[7, s] > 0 and _uniform(rng) < p_hole:
                    # hole trade (nulls.P_HOLE): a near-full column H (picks row 7) and a sign
                    # (a coin: stratum s or its partner), a uniform over H's holders of that sign
                    # and c over the sources of that sign without an edge to H (H left out). The
                    # holders' count is H's fixed signed in-degree; the heat bath keeps "exactly
                    # one of a, c holds H" (with that sign), and both are sources of the sign, so
                    # the lackers' count is the same after: the move is symmetric.
                    H = _pick(rng, picks, pick_off, pick_size, 7, s)
                    sh = s if _uniform(rng) < 0.5 else ps
                    nh = _holders_of_sign(in_b, neg_in, H, sneg[sh] != 0, ws, 0)
                    nl = _holes_of_sign(in_b, smask, n_strata + sh, H, ws, 1)
                    visits += hole_visits
                    if nh == 0 or nl == 0:
                        continue
                    column = False
                    x, y = _draw_bit(rng, ws, 0, nh), _draw_bit(rng, ws, 1, nl)
                else:
                    if pu >= 1.0 or (pu > 0.0 and _uniform(rng) < pu):
                        if pick_size[0, s] < 2:  # row 0: the sources of stratum s, uniformly
                            continue
                        j = _pick(rng, picks, pick_off, pick_size, 0, s)
                        k = _pick(rng, picks, pick_off, pick_size, 0, s)
                    else:
                        if pick_size[2, s] == 0:
                            continue
                        j = _pick(rng, picks, pick_off, pick_size, 2, s)
                        k = _pick(rng, picks, pick_off, pick_size, 2, s)
                    a = src[j]
                    c = src[k]
                    if a == c:
                        continue
                    visits += (run_hi[j] - run_lo[j]) + (alt_hi[j] - alt_lo[j]) + (run_hi[k] - run_lo[k]) + (alt_hi[k] - alt_lo[k])
                    column = False
                    x, y = a, c
            # one heat-bath call site for both moves (rows of the in- or out-matrices), so that
            # it can be inlined once: ~10% of a kept-sign chain's time was the call itself
            rows, rows_neg, cols, cols_neg, masks = (in_b, neg_in, out_b, neg_out, smask) if column else (out_b, neg_out, in_b, neg_in, tmask)
            if not _signed_heat_bath(rng, rows, rows_neg, x, y, masks, s, neg_s, ws, slots, sel, idx):
                continue
            accepted += 1
            _mirror_changes(cols, cols_neg, ws, x, y)  # the slots follow when read (refresh_run) or synced
            continue
        # one sign, or signs not kept: a move within the stratum
        negative = sneg[s] != 0
        if p_column > 0.0 and _uniform(rng) < p_column:
            # two-target trade (the trade's transpose): targets t0, u0 uniform over the
            # stratum's targets (picks row 1, no state read) re-deal the sources only one of them
            # has (not t0 or u0 themselves: no loops), t0 keeping its in-degree. Row trades alone
            # leave which targets the high-out-degree sources reach (the sum over edges of
            # out-degree × out-degree, tied to the FFL count) relaxing over ~30 × E on the toy
            # graphs, a slow tail the pilot misses (nulls.P_COLUMN_ONE_STRATUM has the measurements).
            if pick_size[1, s] < 2:
                continue
            t0 = _pick(rng, picks, pick_off, pick_size, 1, s)
            u0 = _pick(rng, picks, pick_off, pick_size, 1, s)
            if t0 == u0:
                continue
            for w in range(W):  # fixed: the two targets' in-degrees in the stratum
                visits += _popcount(in_b[t0, w] & smask[s, w]) + _popcount(in_b[u0, w] & smask[s, w])
            na = _only_sources(in_b, smask, s, t0, u0, pool, 0)  # t0's sources that u0 lacks
            m = _only_sources(in_b, smask, s, u0, t0, pool, na) if na else 0  # then u0's that t0 lacks
            if na == 0 or m == na:
                continue
            k, first = _redeal(rng, m, na, idx, sel, back)
            if first:
                x, y = t0, u0  # x: the smaller side's target
            else:
                x, y = u0, t0
            for i in range(k):
                vin = pool[idx[i]]  # its edge moves from y to x
                vout = pool[back[i]]  # its edge moves from x to y
                stale[vin] = 1  # the bits move; their runs are rewritten when next read
                stale[vout] = 1
                _move_signed(out_b, in_b, neg_out, neg_in, negative, vin, y, vin, x)
                _move_signed(out_b, in_b, neg_out, neg_in, negative, vout, x, vout, y)
            accepted += 1
            continue
        if swap_only:  # two edges uniform over the stratum, as igraph's rewire picks them
            k = off[s] + _below(rng, size[s])
        else:  # two sources uniform over the stratum's sources (not by degree, see the module doc)
            if pick_size[0, s] < 2:  # all but one (or all) frozen: nothing to trade
                continue
            j = _pick(rng, picks, pick_off, pick_size, 0, s)
            k = _pick(rng, picks, pick_off, pick_size, 0, s)
        a = src[j]
        c = src[k]
        if a == c:
            continue
        _refresh_run(tgt, run_lo[j], run_hi[j], out_b, neg_out, a, tmask, s, sneg, partner, stale)
        _refresh_run(tgt, run_lo[k], run_hi[k], out_b, neg_out, c, tmask, s, sneg, partner, stale)
        if swap_only:  # the classic double swap a->b, c->d => a->d, c->b (reference chains)
            b = tgt[j]
            d = tgt[k]
            if b == d or a == d or c == b or _has(out_b, a, d) or _has(out_b, c, b):
                continue
            _move_signed(out_b, in_b, neg_out, neg_in, negative, a, b, a, d)
            _move_signed(out_b, in_b, neg_out, neg_in, negative, c, d, c, b)
            tgt[j] = d
            tgt[k] = b
            accepted += 1
            continue
        # trade: sources a, c of one stratum re-deal the targets only one of them can take
        # the work metered must not depend on the state: samples are taken when the metered work
        # reaches the thinning, so state-dependent charges would weight states by their cost
        visits += (run_hi[j] - run_lo[j]) + (run_hi[k] - run_lo[k])
        na = 0
        m = 0
        for side in range(2):  # a's targets that c lacks, then c's that a lacks
            lo, hi, other = (run_lo[j], run_hi[j], c) if side == 0 else (run_lo[k], run_hi[k], a)
            for i in range(lo, hi):
                t = tgt[i]
                pool[m] = t
                slots[m] = i
                m += np.int64(t != other) & np.int64(_has(out_b, other, t) ^ _U1)
            if side == 0:
                na = m
                if na == 0:
                    break
        if na == 0 or m == na:
            continue
        k, first = _redeal(rng, m, na, idx, sel, back)  # only targets that change side are rewritten
        if first:
            x, y = a, c  # x: the smaller side's source
        else:
            x, y = c, a
        for i in range(k):
            tin = pool[idx[i]]  # moves y -> x
            tout = pool[back[i]]  # moves x -> y
            _move_signed(out_b, in_b, neg_out, neg_in, negative, y, tin, x, tin)
            _move_signed(out_b, in_b, neg_out, neg_in, negative, x, tout, y, tout)
            tgt[slots[back[i]]] = tin
            tgt[slots[idx[i]]] = tout
        accepted += 1
    return accepted, proposals


@nb.njit(cache=True)
def redraw_tables(src, tgt, sid, off, size, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, sneg, rng):
    """Redraw every layer pair that has a table (``SwapChain._exact_tables``) as a realization
    drawn uniformly from its enumeration, whatever the current one is.

    Such a pair's sources and targets are distinct nodes, so no other pair's edges constrain it:
    the uniform law is a product over pairs, and redrawing a pair from its own uniform law is a
    Gibbs step that keeps it. The samplers do it before every count, so these pairs are
    independent from sample to sample, and :func:`run_chain`'s moves spend no work on them. (When
    the moves also picked them, in proportion to their edges, the smallest were the slowest part:
    a 2 × 2 pair of 2 edges held a toy think graph's slowest class at 56 × E.)"""
    n_strata = size.size
    W = out_b.shape[1]
    for s in range(n_strata):
        ps = partner[s]
        if ex_int[s] < 2 or (ps >= 0 and ps < s):  # no table (or one realization), or the pair done under its partner
            continue
        R = ex_int[n_strata + s]
        k = _below(rng, ex_int[s])
        base = ex_int[2 * n_strata + s] + k * R
        rows = 4 * n_strata + ex_int[3 * n_strata + s]
        for i in range(R):
            a = ex_int[rows + i]
            for w in range(W):
                m = tmask[s, w]
                o_new = (out_b[a, w] & ~m) | ex_bits[0, base + i, w] | ex_bits[1, base + i, w]
                n_new = (neg_out[a, w] & ~m) | ex_bits[1, base + i, w]
                d_o = out_b[a, w] ^ o_new
                d_n = neg_out[a, w] ^ n_new
                if d_o | d_n:
                    out_b[a, w] = o_new
                    neg_out[a, w] = n_new
                    while d_o:
                        low = d_o & (~d_o + _U1)
                        d_o ^= low
                        _flip(in_b, w * 64 + _low_bit(low), a)
                    while d_n:
                        low = d_n & (~d_n + _U1)
                        d_n ^= low
                        _flip(neg_in, w * 64 + _low_bit(low), a)
            if ps < 0:  # a one-sign pair: its slots are kept current, not refreshed on read
                lo = off[s]
                hi = lo + size[s]
                r0 = _run_start(src, lo, hi, a)
                _write_run(tgt, r0, _run_end(src, r0, hi, a), out_b, neg_out, a, tmask, s, sneg[s] != 0)


@nb.njit(cache=True)
def sync_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, stale):
    """Bring the kept-sign slots up to date with the bits after :func:`run_chain` (which leaves
    them behind: see the module doc)."""
    _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, stale)


# ---- census of one graph from its bit matrices -------------------------------------------------
@nb.njit(cache=True)
def triad_tally(src, dst, out_b, in_b, path_class, tally, wedges):
    """Add closed 2-path tallies ``[16]`` and wedge sums ``[6]`` of one simple digraph.

    :func:`r1interp.motifs.census.finish_census` turns them into the 16-class census. Each
    2-path ``x→b→y`` is classified by the 4 dyad bits of :data:`labels.PATH_CODE_CLASS`,
    word-parallel over all ``y`` at once.
    """
    n, W = out_b.shape
    # per dyad x-b (one-way / mutual): (b->y one-way, mutual) x (x->y only, y->x only, both)
    acc = np.zeros(12, np.int64)
    for e in range(src.size):
        x = src[e]
        b = dst[e]
        k = 6 * np.int64(_has(out_b, b, x))
        c0 = c1 = c2 = c3 = c4 = c5 = 0
        for w in range(W):  # y = x and y = b drop out by themselves: no self-loops
            y = out_b[b, w]
            back = in_b[b, w]
            ox = out_b[x, w]
            ix = in_b[x, w]
            one = y & ~back
            mut = y & back
            xo = ox & ~ix
            xi = ix & ~ox
            xb = ox & ix
            c0 += _popcount(one & xo)
            c1 += _popcount(one & xi)
            c2 += _popcount(one & xb)
            c3 += _popcount(mut & xo)
            c4 += _popcount(mut & xi)
            c5 += _popcount(mut & xb)
        acc[k] += c0
        acc[k + 1] += c1
        acc[k + 2] += c2
        acc[k + 3] += c3
        acc[k + 4] += c4
        acc[k + 5] += c5
    for mxb in range(2):
        for t in range(2):
            base = mxb + 2 * t
            k = 6 * mxb + 3 * t
            tally[path_class[base + 4]] += acc[k]
            tally[path_class[base + 8]] += acc[k + 1]
            tally[path_class[base + 12]] += acc[k + 2]
    for v in range(n):
        o = 0
        i = 0
        m = 0
        for w in range(W):
            o += _popcount(out_b[v, w])
            i += _popcount(in_b[v, w])
            m += _popcount(out_b[v, w] & in_b[v, w])
        o -= m
        i -= m
        wedges[0] += o * (o - 1) // 2
        wedges[1] += i * (i - 1) // 2
        wedges[2] += o * i
        wedges[3] += m * i
        wedges[4] += m * o
        wedges[5] += m * (m - 1) // 2


@nb.njit(cache=True, inline="always")
def _in_gaps(layer, u, v, min_gap, max_gap):
    """Whether edge ``u→v`` spans a layer gap in ``[min_gap, max_gap]``."""
    g = layer[v] - layer[u]
    return min_gap <= g <= max_gap


@nb.njit(cache=True)
def signed_tally(src, dst, neg, layer, min_gap, max_gap, pos_out, neg_out, pos_in, neg_in, out):
    """Signed motif counts of one graph given as edge arrays into ``out`` (``signed.SIGNED_MOTIFS``
    order; FFLs by pattern ``4·[X→Y −] + 2·[Y→Z −] + [X→Z −]`` in ``out[0:8]``, mapped by the caller).

    Only edges with layer gap in ``[min_gap, max_gap]`` take part. ``pos_*``/``neg_*`` are
    scratch bit matrices.
    """
    pos_out[:] = 0
    neg_out[:] = 0
    pos_in[:] = 0
    neg_in[:] = 0
    for e in range(src.size):
        u = src[e]
        v = dst[e]
        if not _in_gaps(layer, u, v, min_gap, max_gap):
            continue
        if neg[e]:
            _add(neg_out, neg_in, u, v)
        else:
            _add(pos_out, pos_in, u, v)
    _signed_from_rows(pos_out, neg_out, pos_in, neg_in, out)


@nb.njit(cache=True)
def gap_masks(layer, min_gap, max_gap, W):
    """``(lidx, gap_out, gap_in)``: per node its layer's row index, and per layer the nodes an
    edge from / to that layer may reach / come from with a gap in ``[min_gap, max_gap]``."""
    n = layer.size
    lo = layer.min() if n else 0
    L = (layer.max() - lo + 1) if n else 1
    lidx = layer - lo
    gap_out = np.zeros((L, W), np.uint64)
    gap_in = np.zeros((L, W), np.uint64)
    for l in range(L):
        for v in range(n):
            g = lidx[v] - l
            if min_gap <= g <= max_gap:
                gap_out[l, v >> 6] |= _U1 << np.uint64(v & 63)
            if min_gap <= -g <= max_gap:
                gap_in[l, v >> 6] |= _U1 << np.uint64(v & 63)
    return lidx, gap_out, gap_in


@nb.njit(cache=True)
def signed_tally_bits(out_b, in_b, neg_out, neg_in, lidx, gap_out, gap_in, f_pos_out, f_neg_out, f_pos_in, f_neg_in, out):
    """:func:`signed_tally` of a graph held in bit matrices (all edges, negative edges), with
    the gap rule applied by the per-layer masks of :func:`gap_masks` — no edge list needed."""
    n, W = out_b.shape
    for v in range(n):
        l = lidx[v]
        for w in range(W):
            o = out_b[v, w] & gap_out[l, w]
            ng = neg_out[v, w] & gap_out[l, w]
            f_pos_out[v, w] = o ^ ng
            f_neg_out[v, w] = ng
            i = in_b[v, w] & gap_in[l, w]
            ng = neg_in[v, w] & gap_in[l, w]
            f_pos_in[v, w] = i ^ ng
            f_neg_in[v, w] = ng
    _signed_from_rows(f_pos_out, f_neg_out, f_pos_in, f_neg_in, out)


@nb.njit(cache=True)
def _signed_from_rows(pos_out, neg_out, pos_in, neg_in, out):
    """Add the signed counts of the graph whose (gap-filtered) edges are in the four bit
    matrices to ``out`` (layout: :func:`signed_tally`)."""
    n, W = pos_out.shape
    amp = 0
    damp = 0
    both = np.empty(n, np.int64)  # nodes with excitatory and inhibitory out-edges
    both_in = np.empty(n, np.int64)  # ... in-edges
    nb_ = 0
    nbi = 0
    for v in range(n):
        pi = 0
        ni = 0
        po = 0
        no = 0
        for w in range(W):
            pi += _popcount(pos_in[v, w])
            ni += _popcount(neg_in[v, w])
            po += _popcount(pos_out[v, w])
            no += _popcount(neg_out[v, w])
        amp += pi * po
        damp += pi * no
        if po > 0 and no > 0:
            both[nb_] = v
            nb_ += 1
        if pi > 0 and ni > 0:
            both_in[nbi] = v
            nbi += 1
    out[8] += amp
    out[9] += damp
    # FFL x->y->z, x->z by the signs of its three edges: per edge x->z, word-parallel over y;
    # the x->z edges of one sign at a time, the sums in locals (t: the sign of x->z)
    f = np.zeros(8, np.int64)
    Wo = 0  # words that hold any out-edge: with the chain's labels (targets first) often 1 of 2
    for v in range(n):
        for w in range(Wo, W):
            if pos_out[v, w] | neg_out[v, w]:
                Wo = w + 1
    for x in range(n):
        for t in range(2):
            pp = 0
            pn = 0
            np_ = 0
            nn = 0
            for wz in range(Wo):
                zs = neg_out[x, wz] if t else pos_out[x, wz]
                while zs:
                    low = zs & (~zs + _U1)
                    zs ^= low
                    z = wz * 64 + _low_bit(low)
                    for w in range(Wo):
                        po = pos_out[x, w]
                        no = neg_out[x, w]
                        pi = pos_in[z, w]
                        ni = neg_in[z, w]
                        pp += _popcount(po & pi)
                        pn += _popcount(po & ni)
                        np_ += _popcount(no & pi)
                        nn += _popcount(no & ni)
            f[t] += pp
            f[2 + t] += pn
            f[4 + t] += np_
            f[6 + t] += nn
    for i in range(8):
        out[i] += f[i]
    # cross-chain inhibition: sum over unordered {a, b} of |P[a] & N[b]| * |P[b] & N[a]| (P, N:
    # out-rows). Each term counts a→t (+), b→t (−), b→u (+), a→u (−); so does the same sum over
    # unordered targets {t, u} of in-rows, |P[t] & N[u]| * |P[u] & N[t]|: the smaller set of nodes
    # with both signs (out or in) does it.
    if nbi < nb_:
        rows_p = pos_in
        rows_n = neg_in
        nodes = both_in
        k_ = nbi
    else:
        rows_p = pos_out
        rows_n = neg_out
        nodes = both
        k_ = nb_
    cross = 0
    for i in range(k_):
        a = nodes[i]
        for j in range(i + 1, k_):
            b = nodes[j]
            cab = 0
            cba = 0
            for w in range(W):
                cab += _popcount(rows_p[a, w] & rows_n[b, w])
                cba += _popcount(rows_p[b, w] & rows_n[a, w])
            cross += cab * cba
    out[10] += cross


@nb.njit(cache=True, inline="always")
def _signed_scratch(n, W):
    """Scratch of :func:`signed_tally` for ``n`` nodes: four bit matrices."""
    pos_out = np.zeros((n, W), np.uint64)
    neg_out = np.zeros((n, W), np.uint64)
    pos_in = np.zeros((n, W), np.uint64)
    neg_in = np.zeros((n, W), np.uint64)
    return pos_out, neg_out, pos_in, neg_in


# ---- samplers: burn-in once, then a census every ``thin`` steps ---------------------------------
@nb.njit(cache=True, inline="always")
def _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_steps, rng, scratch, ws, swap_only, acc):
    a, p = run_chain(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_steps, rng, scratch, ws, swap_only)
    acc[0] += a
    acc[1] += p
    if n_steps > 0:  # not for an empty burn-in (later draws of one chain), or chunked draws would differ
        redraw_tables(src, tgt, sid, off, size, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, sneg, rng)


@nb.njit(cache=True)
def sample_triads(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, n_thin, S, rng, scratch, ws, swap_only, path_class):
    """``(tally [S,16], wedges [S,6], (accepted, proposals))`` of ``S`` samples of the chain."""
    tally = np.zeros((S, 16), np.int64)
    wedges = np.zeros((S, 6), np.int64)
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, rng, scratch, ws, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_thin, rng, scratch, ws, swap_only, acc)
        _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, scratch[4])  # the census walks the edge list
        triad_tally(src, tgt, out_b, in_b, path_class, tally[s], wedges[s])
    return tally, wedges, acc


@nb.njit(cache=True)
def _shuffle(a, rng):
    for i in range(a.size - 1, 0, -1):
        _swap(a, i, _below(rng, i + 1))


@nb.njit(cache=True)
def sample_signed(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, n_thin, S, rng, scratch, ws, swap_only, neg, shuffle, layer, min_gap, max_gap):
    """``(counts [S, 11], (accepted, proposals))``: signed counts (raw FFL patterns first) of ``S`` samples;
    ``shuffle``: the sign multiset ``neg`` is permuted over the edges of every sample; otherwise
    the signs are the chain's (``neg_out``/``neg_in``, a kept-sign chain)."""
    n, W = out_b.shape
    counts = np.zeros((S, 11), np.int64)
    f_pos_out, f_neg_out, f_pos_in, f_neg_in = _signed_scratch(n, W)
    lidx, gap_out, gap_in = gap_masks(layer, min_gap, max_gap, W)
    sign = neg.copy()
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, rng, scratch, ws, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_thin, rng, scratch, ws, swap_only, acc)
        if shuffle:
            _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, scratch[4])  # the count walks the edge list
            _shuffle(sign, rng)
            signed_tally(src, tgt, sign, layer, min_gap, max_gap, f_pos_out, f_neg_out, f_pos_in, f_neg_in, counts[s])
        else:  # signs travel with the edges: the chain's own bit matrices, masked to the gaps
            signed_tally_bits(out_b, in_b, neg_out, neg_in, lidx, gap_out, gap_in, f_pos_out, f_neg_out, f_pos_in, f_neg_in, counts[s])
    _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, scratch[4])
    return counts, acc


@nb.njit(cache=True)
def sample_targets(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, n_thin, S, rng, scratch, ws, swap_only):
    """``(targets [S, E], (accepted, proposals))``: the slot targets of ``S`` samples (edge lists)."""
    out = np.empty((S, src.size), np.int64)
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_burn, rng, scratch, ws, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, picks, pick_off, pick_size, alt_lo, alt_hi, partner, ex_int, ex_bits, out_b, in_b, neg_out, neg_in, tmask, smask, sneg, shares, n_thin, rng, scratch, ws, swap_only, acc)
        _refresh_slots(src, tgt, sid, run_hi, partner, out_b, neg_out, tmask, sneg, shares, scratch[4])
        out[s] = tgt
    return out, acc


@nb.njit(cache=True)
def census_edge_lists(src, dst, n, path_class):
    """``(tally [S,16], wedges [S,6])`` of ``S`` simple digraphs given as ``[S, E]`` edge arrays."""
    S = src.shape[0]
    W = (n + 63) >> 6
    out_b = np.zeros((n, W), np.uint64)
    in_b = np.zeros((n, W), np.uint64)
    tally = np.zeros((S, 16), np.int64)
    wedges = np.zeros((S, 6), np.int64)
    for s in range(S):
        fill_bits(src[s], dst[s], out_b, in_b)
        triad_tally(src[s], dst[s], out_b, in_b, path_class, tally[s], wedges[s])
    return tally, wedges


@nb.njit(cache=True)
def signed_edge_lists(src, dst, neg, n, layer, min_gap, max_gap):
    """``[S, 11]`` signed counts (raw FFL patterns first) of ``[S, E]`` edge arrays."""
    S = src.shape[0]
    W = (n + 63) >> 6
    counts = np.zeros((S, 11), np.int64)
    pos_out, neg_out, pos_in, neg_in = _signed_scratch(n, W)
    for s in range(S):
        signed_tally(src[s], dst[s], neg[s], layer, min_gap, max_gap, pos_out, neg_out, pos_in, neg_in, counts[s])
    return counts


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """A xoshiro256** state (never all zero) drawn from ``rng``."""
    state = rng.integers(1, np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
    return state
