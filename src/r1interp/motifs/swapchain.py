"""Compiled Markov chain over simple digraphs with fixed (stratified) in/out-degrees.

Why a chain and not stub matching: stub matching followed by repair of loops and repeated
edges is not uniform over simple graphs with the given degrees (on dense attribution graphs its
null means sit 5–10 standard errors off), and its repair stalls on dense layer pairs. A chain
whose proposals are symmetric, with in-place rejection, has the uniform distribution over the
simple graphs it can reach as its stationary law, never stalls, and is cheap when compiled.

State: edge *slots* sorted by (stratum, source). A slot's source and stratum never change; only
its target moves, so every node keeps its in- and out-degree within every stratum. Moves:

* **trade** (``1 − p_tri``; the "curveball" move of Strona et al. 2014 / Carstens 2016): slot
  ``j`` uniform over all edges, slot ``k`` uniform over ``j``'s stratum, with sources ``a``, ``c``.
  The targets only one of them may hold (``a``'s targets that ``c`` does not point to in any
  stratum and that are not ``c``, and vice versa) are pooled and re-dealt uniformly, each
  source keeping its count. The pool is the same before and after, so the proposal is
  symmetric; every double swap ``a→b, c→d ⇒ a→d, c→b`` is one possible deal, so trades reach
  whatever swaps reach, and a trade moves many edges for the price of one pass over two nodes —
  on dense graphs, where most swaps are rejected, it decorrelates far faster.
* **triangle reversal** (``p_tri``; only where a stratum can hold a directed 3-cycle): slot ``j``
  (``a→b``) uniform, node ``c`` uniform; a cycle ``a→b→c→a`` of one stratum whose reverse
  edges are all absent is reversed. Swaps alone cannot reach every digraph with given degrees
  (the 3-cycle and its reverse are the classic pair); with reversals they can (Rao, Jana &
  Bandyopadhyay 1996; Berger & Müller-Hannemann 2010). In layer-pair strata of forward edges no
  cycle exists, ``p_tri`` is 0, and swaps alone connect each (bipartite) layer pair (Ryser 1957).
* **signed trade** (``p_sign`` of trade chains; only where signs are kept, i.e. strata split by
  sign): slot ``j`` uniform, slot ``k`` uniform over the two sign strata of ``j``'s layer pair,
  sources ``a``, ``c``. Per target the pair (a's edge, c's edge) ∈ {none, +, −}² may only be
  swapped, and ``a`` must keep its count of each sign; the next state is drawn uniformly from
  all states that meet this (see the comment in :func:`run_chain`) — a heat-bath move on the
  two sources over both signs at once, symmetric, so the uniform law is kept. Per-sign trades
  cannot change which of two sources reaches a shared target with which sign:
  ``a→t (+), a→u (−), c→t (−), c→u (+)`` and its mirror are not linked by any of them, and on
  dense graphs a chain without such moves has visibly wrong signed null means
  (``tests/test_motifs_ensemble`` shows it).
* **two-target signed trade** (``P_COLUMN`` of the signed trades): the transpose — targets
  ``t0``, ``u0`` of one layer pair exchange sources: per source the pair (edge to t0, edge to u0)
  may only be swapped and ``t0`` keeps its count of each sign, same heat bath. Two-source moves
  alone are reducible on some signed degree sequences (three sources and two targets may have to
  change at once; ``tests/test_motifs_ensemble`` has such layer pairs).
* **double swap** (``swap_only``): the classic move igraph's ``rewire`` makes, used instead of
  trades by the long reference chains that tests and the bench compare the sampler with.

The graph lives in two bit matrices (``out[u]`` and ``in[v]`` rows of ``ceil(n/64)`` words):
O(1) edge tests for the moves and word-parallel counts for the census of each sample
(:func:`triad_tally`, :func:`signed_tally`). Random numbers come from xoshiro256** seeded by the
caller's :class:`numpy.random.Generator`, so a run is reproducible from its seed.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from r1interp.artifacts import motif_labels as L

_U1 = np.uint64(1)
_M32 = np.uint64(0xFFFFFFFF)
_PATH_CLASS = L.PATH_CODE_CLASS.astype(np.int64)
P_COLUMN = 0.1  # share of the signed trades that exchange two targets' sources instead of two sources' targets


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


@nb.njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


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
def _partner_slot(rng, off, size, s, ps):
    """A slot uniform over strata ``s`` and ``ps``, and whether it lies in ``s``."""
    r = _below(rng, size[s] + size[ps])
    if r < size[s]:
        return off[s] + r, True
    return off[ps] + r - size[s], False


@nb.njit(cache=True, inline="always")
def _sign_state(src, tgt, out_b, slo, shi, plo, phi, x, t):
    """``x``'s edge to ``t``: 0 none, 1 in the slots ``[slo, shi)``, 2 in ``[plo, phi)``, -1 an
    edge of another layer pair."""
    if not _has(out_b, x, t):
        return 0
    if _find_slot(src, tgt, slo, shi, x, t) >= 0:
        return 1
    if _find_slot(src, tgt, plo, phi, x, t) >= 0:
        return 2
    return -1


@nb.njit(cache=True, inline="always")
def _state_slot(src, tgt, slo, shi, plo, phi, x, t, state):
    """The slot of ``x→t`` given its :func:`_sign_state` (-1 for 0)."""
    if state == 0:
        return -1
    if state == 1:
        return _find_slot(src, tgt, slo, shi, x, t)
    return _find_slot(src, tgt, plo, phi, x, t)


@nb.njit(cache=True, inline="always")
def _classify(x, y, t, slots, sel, idx, nP, nN, nM, p0, q0, r0):
    """File ``t`` whose two states ``x`` (held by the side that keeps its sign counts) and ``y``
    differ: class P {1, none} into ``slots``, N {2, none} into ``sel``, M {1, 2} into ``idx``;
    ``p0``, ``q0``, ``r0`` count the P, N, M members where ``x`` is 1, 2, 1."""
    if x + y == 1:
        slots[nP] = t
        return nP + 1, nN, nM, p0 + x, q0, r0
    if x + y == 2:
        sel[nN] = t
        return nP, nN + 1, nM, p0, q0 + (x >> 1), r0
    idx[nM] = t
    return nP, nN, nM + 1, p0, q0, r0 + (x & 1)


@nb.njit(cache=True, inline="always")
def _r_bounds(nP, nN, nM, p0, q0, r0):
    """Range of ``r`` (M members taking state 1) that keeps both sign counts of the fixed side."""
    return max(0, r0 - q0, p0 + r0 - nP), min(nM, p0 + r0, nN - q0 + r0)


@nb.njit(cache=True, inline="always")
def _ratio(x, nP, nN, nM, p0, q0, r0):
    """``w(x+1)/w(x)`` for ``w(r) = C(nP, p) C(nN, q) C(nM, r)``, ``p = p0+r0-r``, ``q = q0-r0+r``."""
    p = p0 + r0 - x
    q = q0 - r0 + x
    return (p / (nP - p + 1.0)) * ((nN - q) / (q + 1.0)) * ((nM - x) / (x + 1.0))


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
def _klass(cls, slots, sel, idx, nP, nN, nM, p, q, rr):
    """Class ``cls`` (P, N, M) as ``(members, size, how many take state sa, sa, sc)``."""
    if cls == 0:
        return slots, nP, p, 1, 0
    if cls == 1:
        return sel, nN, q, 2, 0
    return idx, nM, rr, 1, 2


@nb.njit(cache=True, inline="always")
def _place(tgt, state, t, i1, i2):
    """Write ``t`` at the next slot of the run ``state`` (1: at ``i1``, 2: at ``i2``)."""
    if state == 1:
        tgt[i1] = t
        return i1 + 1, i2
    if state == 2:
        tgt[i2] = t
        return i1, i2 + 1
    return i1, i2


# ---- the chain -------------------------------------------------------------------------------
@nb.njit(cache=True)
def run_chain(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_steps, rng, scratch, swap_only=False):
    """Moves in place until ``n_steps`` *slot visits* are spent; returns ``(accepted, proposals)``.

    Work is metered in slot visits (a trade visits the slots of both its sources, a triangle
    proposal counts 1) so one schedule fits graphs whose strata have very different degrees.
    ``scratch``: int64 ``[7, max(2 * (longest run) + 2, n)]`` work space, rows 4–6 zero.
    ``partner[s]``: the stratum of the same layer pair with the other sign (-1: none).
    """
    E = src.size
    n = out_b.shape[0]
    accepted = 0
    proposals = 0
    if E < 2:
        return 0, 0
    pool = scratch[0]
    slots = scratch[1]
    idx = scratch[2]
    sel = scratch[3]
    mark_cs = scratch[4]  # signed trade: a's state per target (0 none, 1 stratum s, 2 partner)
    mark_cp = scratch[5]  # ... c's state
    visits = 0
    while visits < n_steps:
        proposals += 1
        visits += 1
        if p_sign > 0.0 and _uniform(rng) < p_sign:
            j = _below(rng, E)
            s = sid[j]
            ps = partner[s]
            if ps < 0:
                continue
            if _uniform(rng) < P_COLUMN:
                # two-target signed trade: the transpose of the move below. Targets t0, u0 of one
                # layer pair; per source x the pair (x's edge to t0, x's edge to u0) may only be
                # swapped (x keeps its signed out-degree), and t0 keeps its count of each sign.
                # Two-source moves alone cannot link every realization (3 sources and 2 targets
                # may have to change at once: tests/test_motifs_ensemble).
                k, _ = _partner_slot(rng, off, size, s, ps)
                t0 = tgt[j]
                u0 = tgt[k]
                if t0 == u0:
                    continue
                slo = off[s]
                shi = slo + size[s]
                plo = off[ps]
                phi = plo + size[ps]
                nP, nN, nM, p0, q0, r0 = 0, 0, 0, 0, 0, 0
                for w in range(in_b.shape[1]):
                    y = in_b[t0, w] | in_b[u0, w]
                    visits += _popcount(in_b[t0, w]) + _popcount(in_b[u0, w])  # fixed in-degrees
                    while y:
                        low = y & (~y + _U1)
                        y ^= low
                        x = w * 64 + _popcount(low - _U1)
                        if x == t0 or x == u0:
                            continue
                        st = _sign_state(src, tgt, out_b, slo, shi, plo, phi, x, t0)
                        if st < 0:
                            continue  # an edge of another layer pair
                        su = _sign_state(src, tgt, out_b, slo, shi, plo, phi, x, u0)
                        if su < 0 or st == su:
                            continue
                        mark_cs[x] = st
                        mark_cp[x] = su
                        nP, nN, nM, p0, q0, r0 = _classify(st, su, x, slots, sel, idx, nP, nN, nM, p0, q0, r0)
                r_lo, r_hi = _r_bounds(nP, nN, nM, p0, q0, r0)
                rr = _draw_r(rng, r_lo, r_hi, nP, nN, nM, p0, q0, r0)
                p = p0 + r0 - rr
                q = q0 - r0 + rr
                changed = False
                for cls in range(3):
                    members, npool, take, sa, sc = _klass(cls, slots, sel, idx, nP, nN, nM, p, q, rr)
                    for i in range(npool):
                        if i < take:  # partial Fisher-Yates: a uniform take-subset
                            _swap(members, i, i + _below(rng, npool - i))
                        x = members[i]
                        nx = sa if i < take else sc
                        st = mark_cs[x]
                        su = mark_cp[x]
                        mark_cs[x] = 0
                        mark_cp[x] = 0
                        if nx == st:
                            continue
                        changed = True  # x's edges to t0 and u0 swap
                        it = _state_slot(src, tgt, slo, shi, plo, phi, x, t0, st)
                        iu = _state_slot(src, tgt, slo, shi, plo, phi, x, u0, su)
                        if it >= 0:
                            tgt[it] = u0
                        if iu >= 0:
                            tgt[iu] = t0
                        if st > 0 and su == 0:
                            _move(out_b, in_b, x, t0, x, u0)
                        elif st == 0 and su > 0:
                            _move(out_b, in_b, x, u0, x, t0)
                if changed:
                    accepted += 1
                continue
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
            k, k_in_s = _partner_slot(rng, off, size, s, ps)
            a = src[j]
            c = src[k]
            if a == c:
                continue
            as0, as1, ap0, ap1 = run_lo[j], run_hi[j], alt_lo[j], alt_hi[j]
            if k_in_s:
                cs0, cs1, cp0, cp1 = run_lo[k], run_hi[k], alt_lo[k], alt_hi[k]
            else:
                cs0, cs1, cp0, cp1 = alt_lo[k], alt_hi[k], run_lo[k], run_hi[k]
            visits += (as1 - as0) + (ap1 - ap0) + (cs1 - cs0) + (cp1 - cp0)
            # targets of a (either sign; c's marks are all 0 here), then those of c that a lacks
            nU = 0
            for h in range(2):  # a's runs: sign s, then ps
                lo, hi = (as0, as1) if h == 0 else (ap0, ap1)
                for i in range(lo, hi):
                    mark_cs[tgt[i]] = h + 1  # a's state per target
                    pool[nU] = tgt[i]
                    nU += 1
            for h in range(2):  # c's runs
                lo, hi = (cs0, cs1) if h == 0 else (cp0, cp1)
                for i in range(lo, hi):
                    t = tgt[i]
                    mark_cp[t] = h + 1  # c's state per target
                    if mark_cs[t] == 0:
                        pool[nU] = t
                        nU += 1
            nP, nN, nM, p0, q0, r0 = 0, 0, 0, 0, 0, 0
            for u in range(nU):
                t = pool[u]
                x = mark_cs[t]
                y = mark_cp[t]
                if x == y or t == a or t == c:
                    continue
                if x + y == 1:  # class P {s, none}
                    slots[nP] = t
                    nP += 1
                    p0 += x
                elif x + y == 2:  # class N {ps, none}
                    sel[nN] = t
                    nN += 1
                    q0 += x >> 1
                else:  # class M {s, ps}
                    idx[nM] = t
                    nM += 1
                    r0 += x & 1
            r_lo, r_hi = _r_bounds(nP, nN, nM, p0, q0, r0)
            p = p0 + r0 - r_lo
            q = q0 - r0 + r_lo
            trivial = r_lo == r_hi and (p == 0 or p == nP) and (q == 0 or q == nN) and (r_lo == 0 or r_lo == nM)
            changed = False
            if not trivial:
                rr = _draw_r(rng, r_lo, r_hi, nP, nN, nM, p0, q0, r0)
                p = p0 + r0 - rr
                q = q0 - r0 + rr
                for cls in range(3):
                    # a uniform `take`-subset goes to a with sign sa (c: sc), the rest the other way
                    members, npool, take, sa, sc = _klass(cls, slots, sel, idx, nP, nN, nM, p, q, rr)
                    if take > npool - take:  # draw the smaller side: fewer random numbers
                        take = npool - take
                        sa, sc = sc, sa
                    for i in range(npool):
                        if i < take:  # partial Fisher-Yates
                            _swap(members, i, i + _below(rng, npool - i))
                        t = members[i]
                        nx = sa if i < take else sc
                        if nx == mark_cs[t]:
                            continue
                        changed = True
                        if mark_cs[t] == 0:  # c -> t becomes a -> t
                            _move(out_b, in_b, c, t, a, t)
                        elif nx == 0:
                            _move(out_b, in_b, a, t, c, t)
                        mark_cs[t] = nx
                        mark_cp[t] = sc if i < take else sa
                if changed:  # rewrite the four runs from the new states (run lengths are kept)
                    accepted += 1
                    ia, ja, ic, jc = as0, ap0, cs0, cp0
                    for u in range(nU):
                        t = pool[u]
                        ia, ja = _place(tgt, mark_cs[t], t, ia, ja)
                        ic, jc = _place(tgt, mark_cp[t], t, ic, jc)
            for u in range(nU):
                mark_cs[pool[u]] = 0
                mark_cp[pool[u]] = 0
            continue
        if p_tri > 0.0 and _uniform(rng) < p_tri:
            j = _below(rng, E)
            a = src[j]
            b = tgt[j]
            c = _below(rng, n)
            if c == a or c == b:
                continue
            if not _has(out_b, b, c) or not _has(out_b, c, a):
                continue
            if _has(out_b, a, c) or _has(out_b, c, b) or _has(out_b, b, a):
                continue
            s = sid[j]
            lo = off[s]
            hi = lo + size[s]
            k = _find_slot(src, tgt, lo, hi, b, c)
            if k < 0:
                continue
            m = _find_slot(src, tgt, lo, hi, c, a)
            if m < 0:
                continue
            _move(out_b, in_b, a, b, b, a)  # reverse the cycle a->b->c->a
            _move(out_b, in_b, b, c, c, b)
            _move(out_b, in_b, c, a, a, c)
            tgt[j] = c
            tgt[k] = a
            tgt[m] = b
            accepted += 1
            continue
        j = _below(rng, E)
        s = sid[j]
        k = off[s] + _below(rng, size[s])
        a = src[j]
        c = src[k]
        if a == c:
            continue
        if swap_only:  # the classic double swap a->b, c->d => a->d, c->b (reference chains)
            b = tgt[j]
            d = tgt[k]
            if b == d or a == d or c == b or _has(out_b, a, d) or _has(out_b, c, b):
                continue
            _move(out_b, in_b, a, b, a, d)
            _move(out_b, in_b, c, d, c, b)
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
                if t != other and not _has(out_b, other, t):
                    pool[m] = t
                    slots[m] = i
                    m += 1
            if side == 0:
                na = m
                if na == 0:
                    break
        if na == 0 or m == na:
            continue
        # the smaller side draws its new targets: a uniform subset of the pool (partial
        # Fisher-Yates over pool positions); only targets that change side are rewritten
        nmin = na if na <= m - na else m - na
        small_lo = 0 if na <= m - na else na  # pool positions the smaller side came from
        small_hi = na if na <= m - na else m
        for i in range(m):
            idx[i] = i
            sel[i] = 0
        for i in range(nmin):
            _swap(idx, i, i + _below(rng, m - i))
            sel[idx[i]] = 1
        if small_lo == 0:
            x, y = a, c  # x: the smaller side's source
        else:
            x, y = c, a
        o = small_lo  # next small-origin position not drawn (outgoing)
        for q in range(nmin):
            p = idx[q]
            if small_lo <= p < small_hi:
                continue  # drawn and already the smaller side's
            while sel[o]:
                o += 1
            tin = pool[p]  # moves y -> x
            tout = pool[o]  # moves x -> y
            _clear(out_b, y, tin)
            _clear(in_b, tin, y)
            _clear(out_b, x, tout)
            _clear(in_b, tout, x)
            _set(out_b, x, tin)
            _set(in_b, tin, x)
            _set(out_b, y, tout)
            _set(in_b, tout, y)
            tgt[slots[o]] = tin
            tgt[slots[p]] = tout
            o += 1
        accepted += 1
    return accepted, proposals


# ---- census of one graph from its bit matrices -------------------------------------------------
@nb.njit(cache=True)
def triad_tally(src, dst, out_b, in_b, path_class, tally, wedges):
    """Add closed 2-path tallies ``[16]`` and wedge sums ``[6]`` of one simple digraph.

    :func:`r1interp.motifs.census.finish_census` turns them into the 16-class census. Each
    2-path ``x→b→y`` is classified by the 4 dyad bits of :data:`labels.PATH_CODE_CLASS`,
    word-parallel over all ``y`` at once.
    """
    n, W = out_b.shape
    c = np.zeros(6, np.int64)  # (b->y one-way, mutual) x (x->y only, y->x only, both)
    for e in range(src.size):
        x = src[e]
        b = dst[e]
        mxb = np.int64(_has(out_b, b, x))
        c[:] = 0
        for w in range(W):
            y = out_b[b, w]
            if w == (x >> 6):
                y &= ~(_U1 << np.uint64(x & 63))
            if y == 0:
                continue
            back = in_b[b, w]
            ox = out_b[x, w]
            ix = in_b[x, w]
            for t in range(2):
                yt = (y & ~back) if t == 0 else (y & back)
                c[3 * t] += _popcount(yt & ox & ~ix)
                c[3 * t + 1] += _popcount(yt & ix & ~ox)
                c[3 * t + 2] += _popcount(yt & ox & ix)
        for t in range(2):
            base = mxb + 2 * t
            tally[path_class[base + 4]] += c[3 * t]
            tally[path_class[base + 8]] += c[3 * t + 1]
            tally[path_class[base + 12]] += c[3 * t + 2]
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
def signed_tally(src, dst, neg, layer, min_gap, max_gap, pos_out, neg_out, pos_in, neg_in, deg, out):
    """Signed motif counts of one graph into ``out`` (``signed.SIGNED_MOTIFS`` order; FFLs by
    pattern ``4·[X→Y −] + 2·[Y→Z −] + [X→Z −]`` in ``out[0:8]``, mapped by the caller).

    Only edges with layer gap in ``[min_gap, max_gap]`` take part. ``pos_*``/``neg_*`` are
    scratch bit matrices, ``deg`` ``[3, n]`` scratch degrees.
    """
    n, W = pos_out.shape
    pos_out[:] = 0
    neg_out[:] = 0
    pos_in[:] = 0
    neg_in[:] = 0
    deg[:] = 0  # rows: excitatory in, excitatory out, inhibitory out
    for e in range(src.size):
        u = src[e]
        v = dst[e]
        if not _in_gaps(layer, u, v, min_gap, max_gap):
            continue
        if neg[e]:
            _add(neg_out, neg_in, u, v)
            deg[2, u] += 1
        else:
            _add(pos_out, pos_in, u, v)
            deg[0, v] += 1
            deg[1, u] += 1
    amp = 0
    damp = 0
    for v in range(n):
        amp += deg[0, v] * deg[1, v]
        damp += deg[0, v] * deg[2, v]
    out[8] += amp
    out[9] += damp
    for e in range(src.size):
        x = src[e]
        z = dst[e]
        if not _in_gaps(layer, x, z, min_gap, max_gap):
            continue
        s3 = 1 if neg[e] else 0
        pp = 0
        pn = 0
        np_ = 0
        nn = 0
        for w in range(W):
            po = pos_out[x, w]
            no = neg_out[x, w]
            pi = pos_in[z, w]
            ni = neg_in[z, w]
            pp += _popcount(po & pi)
            pn += _popcount(po & ni)
            np_ += _popcount(no & pi)
            nn += _popcount(no & ni)
        out[s3] += pp
        out[2 + s3] += pn
        out[4 + s3] += np_
        out[6 + s3] += nn
    # cross-chain inhibition: sum over unordered {a, b} of |P[a] & N[b]| * |P[b] & N[a]|
    both = np.empty(n, np.int64)
    nb_ = 0
    for v in range(n):
        if deg[1, v] > 0 and deg[2, v] > 0:
            both[nb_] = v
            nb_ += 1
    cross = 0
    for i in range(nb_):
        a = both[i]
        for j in range(i + 1, nb_):
            b = both[j]
            cab = 0
            cba = 0
            for w in range(W):
                cab += _popcount(pos_out[a, w] & neg_out[b, w])
                cba += _popcount(pos_out[b, w] & neg_out[a, w])
            cross += cab * cba
    out[10] += cross


@nb.njit(cache=True, inline="always")
def _signed_scratch(n, W):
    """Scratch of :func:`signed_tally` for ``n`` nodes: four bit matrices and the degrees."""
    pos_out = np.zeros((n, W), np.uint64)
    neg_out = np.zeros((n, W), np.uint64)
    pos_in = np.zeros((n, W), np.uint64)
    neg_in = np.zeros((n, W), np.uint64)
    return pos_out, neg_out, pos_in, neg_in, np.zeros((3, n), np.int64)


# ---- samplers: burn-in once, then a census every ``thin`` steps ---------------------------------
@nb.njit(cache=True, inline="always")
def _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_steps, rng, scratch, swap_only, acc):
    a, p = run_chain(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_steps, rng, scratch, swap_only)
    acc[0] += a
    acc[1] += p


@nb.njit(cache=True)
def sample_triads(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, n_thin, S, rng, scratch, swap_only, path_class):
    """``(tally [S,16], wedges [S,6], (accepted, proposals))`` of ``S`` samples of the chain."""
    tally = np.zeros((S, 16), np.int64)
    wedges = np.zeros((S, 6), np.int64)
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, rng, scratch, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_thin, rng, scratch, swap_only, acc)
        triad_tally(src, tgt, out_b, in_b, path_class, tally[s], wedges[s])
    return tally, wedges, acc


@nb.njit(cache=True)
def _shuffle(a, rng):
    for i in range(a.size - 1, 0, -1):
        _swap(a, i, _below(rng, i + 1))


@nb.njit(cache=True)
def sample_signed(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, n_thin, S, rng, scratch, swap_only, neg, shuffle, layer, min_gap, max_gap):
    """``(counts [S, 11], (accepted, proposals))``: signed counts (raw FFL patterns first) of ``S`` samples;
    ``shuffle``: the sign multiset is permuted over the edges of every sample."""
    n, W = out_b.shape
    counts = np.zeros((S, 11), np.int64)
    pos_out, neg_out, pos_in, neg_in, deg = _signed_scratch(n, W)
    sign = neg.copy()
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, rng, scratch, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_thin, rng, scratch, swap_only, acc)
        if shuffle:
            _shuffle(sign, rng)
        signed_tally(src, tgt, sign, layer, min_gap, max_gap, pos_out, neg_out, pos_in, neg_in, deg, counts[s])
    return counts, acc


@nb.njit(cache=True)
def sample_targets(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, n_thin, S, rng, scratch, swap_only):
    """``(targets [S, E], (accepted, proposals))``: the slot targets of ``S`` samples (edge lists)."""
    out = np.empty((S, src.size), np.int64)
    acc = np.zeros(2, np.int64)  # accepted moves, proposals
    _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_burn, rng, scratch, swap_only, acc)
    for s in range(S):
        _advance(src, tgt, sid, off, size, run_lo, run_hi, alt_lo, alt_hi, partner, out_b, in_b, p_tri, p_sign, n_thin, rng, scratch, swap_only, acc)
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
    pos_out, neg_out, pos_in, neg_in, deg = _signed_scratch(n, W)
    for s in range(S):
        signed_tally(src[s], dst[s], neg[s], layer, min_gap, max_gap, pos_out, neg_out, pos_in, neg_in, deg, counts[s])
    return counts


def seed_state(rng: np.random.Generator) -> np.ndarray:
    """A xoshiro256** state (never all zero) drawn from ``rng``."""
    state = rng.integers(1, np.iinfo(np.uint64).max, size=4, dtype=np.uint64, endpoint=True)
    return state
