"""Null-model ensembles, seeded.

Models (what each preserves — ``tests/test_motifs_nulls`` checks every promise and the ensemble):

* ``configuration`` — every node's in- and out-degree; uniform over simple digraphs (no
  self-loops, no repeated edges; mutual pairs and cycles allowed) with those degrees: the
  ensemble igraph's degree-preserving ``rewire`` (circuit-motifs) aims at. On an attribution DAG
  it creates cycles and mutual edges, so its Z-scores largely measure acyclicity.
* ``layer_configuration`` — every node's in/out-degree *per (source layer, target layer) pair*,
  hence also the edge count of every layer pair (attribution graphs only run forward); uniform
  over simple digraphs with those stratified degrees.
* ``erdos_renyi`` — node and edge counts (G(n, m), simple).
* ``layer_er`` — the edge count of every (source layer, target layer) pair, edges placed
  uniformly among that pair's node pairs.

Signs (signed motifs only): ``keep`` — signs travel with edges, i.e. the configuration models
rewire excitatory and inhibitory edges separately (each node keeps its signed in/out-degrees per
stratum; circuit-motifs' ``preserve_signs``), and the ER models keep the sign counts of each
stratum; ``shuffle`` — the real sign multiset is permuted over each null graph's edges.

The two configuration models are one sampler: the compiled chain of :mod:`.swapchain` (trades,
two-target trades in the one-stratum ``configuration`` chain (:data:`P_COLUMN_ONE_STRATUM`),
triangle reversals where cycles can occur, signed trades where signs are kept, three-row sign
moves and anchored two-target trades in the kept-sign ``configuration`` chain (:data:`P_THREE_ROW`,
:data:`P_ANCHOR`); strata: one, layer pairs, × sign for ``keep``),
started from the real graph, burnt in, then counted every
``thin × E`` of chain work, ``thin`` measured per chain from a pilot's autocorrelation
(:class:`ChainSchedule`, :func:`thinning_from_acf`; ``bench/bench_motifs.py`` prints it).
Every sample comes from that chain: there is no second, faster-but-different path and nothing
to fall back to — a chain never stalls, it only rejects moves. Its ensemble is checked against
exact enumeration and a long swap chain in ``tests/test_motifs_ensemble.py``.
Kept signs need both signed trades, over two sources and over two targets: without the second,
some layer pairs have realizations no two-source move reaches (``tests/test_motifs_ensemble``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from r1interp.artifacts import motif_labels as L
from r1interp.motifs import swapchain as SC
from r1interp.motifs.census import DEFAULT_BITMAP_BYTES, finish_census
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.signed import FFL_TYPES, PATTERN_OF_TYPE, SIGNED_MOTIFS, GapLimits

log = logging.getLogger(__name__)

NULL_MODELS = ("configuration", "layer_configuration", "erdos_renyi", "layer_er")
SIGN_MODES = ("keep", "shuffle")
P_TRIANGLE = 0.1  # share of triangle-reversal proposals where a stratum can hold a 3-cycle
P_SIGN = 1.0
"""Share of the non-triangle proposals that are signed trades where signs are kept (strata split
by sign) and the layer pair has both signs; the rest are per-sign trades (and a pair with one
sign always trades within its stratum). Per-sign trades relax the signed counts 6–9× slower
(integrated autocorrelation, max over classes, 86–94 × E vs 11–14 × E on a toy graph and a dense
13-layer one) and were at best 2× cheaper per unit of work, so the sampler uses signed trades only."""
P_COLUMN_ONE_STRATUM = 0.5
"""Share of the trades that are two-target trades (``swapchain``'s module doc) in a chain with
one stratum per sign (``configuration``; where signs are kept and the graph has both, every
move is a signed one and ``swapchain.P_COLUMN`` plays this part). With row trades alone, the
sum over edges of out-degree(source) × out-degree(target) — which targets the big sources
reach — was this chain's slow mode: on toy-base chain-0-answer-p75 its autocorrelation at 10 /
20 / 40 × E was 0.63 / 0.45 / 0.25 (0.15 / -0.01 / 0.00 at this share), and it carried the
census's slow tail (transitive triangles ρ(20 × E) = 0.14), which a pilot at 2 and 4 × E
extrapolates short. ``bench/bench_thinning.py`` on 46 toy graphs (100,000 counts at 1 × E):
the lag the census needs fell from a median 27.5 to 12.0 × E (toy-base, max 59 → 22) and 22 →
8 (toy-reasoner, max 47 → 10); the pilot's choice went from 0.55 / 0.49 of it to 0.83 / 0.87,
its true autocorrelation at the choice from a median 0.195 / 0.204 to 0.127 / 0.114. At this
share the chain costs 1.2–1.6× the row-trade chain per unit of work (a two-target trade moves
bits only and its moved runs are rewritten when next read; searching each moved slot in its run
instead made it 1.4–2.7×)."""
P_SIGN_SWAP = 0.2
"""The same share in the reference chains (``moves="swap"``): mostly double swaps, so the
reference shares as few moves as possible with the sampler it checks."""
P_UNIFORM_SOURCES = ((1.0, 1.0), (0.0, 1.0))
"""Share of the signed trades whose two sources are drawn uniformly over the sources of the
stratum the move picked (its sign; ``SwapChain._move_weights``), not by out-degree over the layer pair's
sources, as ``(in a stratum with as many sources as its partner or more, in one with fewer)``:
in a chain whose layer pairs join distinct nodes (``layer_configuration``), and in one whose
pair is the whole graph (``configuration``). Either pick is independent of the state, so the
ensemble is the same. Uniform sources reach the few nodes whose rarer-sign edges carry the
slow signed classes more often than picks by degree, which spend most trades on hubs with nested
target sets (80% of a toy think graph's configuration trades had one admissible state, the
current one); but a uniform pair is cheap in slot visits, so a unit of work holds more moves
and costs more CPU. Measured on the 60 graphs of the 6-layer toy run at the motif stage's
threshold (``bench/bench_motifs.py``, 1,000 samples, thinning from each chain's pilot), seeds 0
and 1, against picks by degree, kept-sign ``layer_configuration`` at share 1: smallest speed-up
17.3 → 28.5× and 20.8 → 27.7×, largest thinning 57.6 → 46.9 and 62.7 → 46.2 × E, the samples'
lag-1 autocorrelation (max over classes) p90 0.24 → 0.20 and 0.22 → 0.20, max 0.33 → 0.30 and
0.37 → 0.23, graphs with signed/unsigned time above 2: 9 → 6 and 10 → 2 (at share 0.5: smallest
15.3× and 22.5×, 12 and 4 graphs). Kept-sign ``configuration`` draws them uniformly only in the
sign with fewer sources — on the toy graphs the inhibitory one: 11–17 sources, most of whose
rows hold every logit hub, so a hub has few free inhibitory slots, and which nodes hold them
(those with both signs or the others) is that chain's slow mode (τ = 540 × E on toy-base
chain-0-think-p61 with picks by degree). It moves only through trades of two inhibiting rows,
which picks by degree over both signs seldom pair. The slowest signed class's integrated autocorrelation (400,000
counts one E apart) on six slow toy graphs went 129, 188, 116, 86, 51, 419 → 127, 170, 86, 47,
40, 332 × E; with uniform sources in both signs 166, 332, 42, 29, 39, 267 (worse on two), and
at a share of 0.5 in both, time per effective sample was lower on 3 and higher on 5 of 8 slow
think graphs. On the 60-graph sweep at seeds 0 and 1: smallest speed-up 17.3 → 20.5× and
17.9 → 20.3×, largest thinning 111 → 109 and 131 → 114 × E, the samples' lag-1
autocorrelation p90 0.33 → 0.28 and 0.34 → 0.33, max 0.51 → 0.48 and 0.59 → 0.53."""
P_THREE_ROW = 0.15
"""Share of the signed proposals that are three-row moves (``swapchain.run_chain``) in a kept-sign
chain whose one layer pair spans the whole graph (``configuration``); 0 in layer-pair chains
(not measured there) and in the reference chains. On the toy think graphs a few embedding
nodes have both signs and the logit hubs take edges from most sources; which sign those nodes
send to each hub relaxed over 140–450 × E, because two-row and two-column moves change it only
through a rare intermediate state (the node without an edge to the hub) that is mostly undone.
The slowest signed class's τ (200,000 counts one E apart, seed 11), shares 0 / 0.5 / 0.65 / 0.8:
toy-base word_problem-0-think-p87 143 / 82 / 72 / 87 × E, addition-1-think-p80 139 / 92 / 73 /
100, chain-0-think-p61 355 / 156 / 93 / 83 (at 0.8 the slowest class became ``ffl_C1``: too few
trades left). The moves cost CPU the trades then lack: chain time per E of work on the 60 toy
graphs rose by a median 9% at 0.25, 17% at 0.45, 27% at 0.65 (up to 22%, 53%, 61%), so graphs
whose slow modes the trades handle got slower. ``bench/bench_motifs.py`` on toy-base's 30
graphs at seed 0 (kept-sign ``configuration`` rows; share 0 from an earlier day's run), shares
0 / 0.25 / 0.45 / 0.65: smallest speed-up 12.5 / 19.4 / 19.3 / 16.8×, median 37.7 / 38.2 /
32.9 / 27.8×, largest thinning 180 / 85 / 82 / 73 × E, graphs with signed/unsigned time above
2: 6 / 11 / 19 / 21 (worst 3.47 / 2.99 / 3.39 / 3.34). The slowest graph's slow class relaxes
only from 0.45: word_problem-0-think-p87's τ (60,000 counts, seed 5) at 0 / 0.25 / 0.35 / 0.45 /
0.65 is 142 / 134 / 134 / 80 / 82 × E; at 0.25 the bench's pilot chose 68 × E for it and its
samples' lag-1 autocorrelation was 0.40 (target 0.1), so its 24× there rests on under-thinning.
But at 0.45 the documented dense bench's kept-sign ``configuration`` null took 2.12× the
unsigned one's time on its 21-layer graph (1.92× at 0.25), failing that bench's signed ≤ 2×
target, which 0.25 passes; the dense graphs have no such slow mode, so the moves there are only
cost. Hence 0.25. (These shares are from before :data:`THREE_ROW_MINORITY`, when ``X`` was any
node with both signs, drawn by rejection from the sign with fewer sources.) 0.15 since the hole
moves (:data:`P_HOLE`, :data:`P_HOLE_THREE`) took over the single-logit graphs' slow modes: with
:data:`P_HOLE` at 0.3 the kept-sign null's time over the unsigned one's on the 60 graphs of the
single-logit toy run (mean over 3 seeds of the median of 2 timings, 1,000 samples) had a
geometric mean of 1.37 and 1.38 in two runs, against 1.49, 1.50, 1.52 and 1.48 at (0.25, 0.5),
and 2 graphs above 2× against 6–8; each change alone gave 1.44 (0.15; 0.3 for :data:`P_HOLE`),
and 0.35 gave 1.63 (docs/motif-nulls.md, last section)."""
P_ANCHOR = 0.25
"""Share of the signed two-target trades that are *anchored* in the kept-sign chain whose one
layer pair spans the graph (``configuration``; 0 in layer-pair chains and the reference chains):
the first target is one of the rarer-sign targets of a node ``X`` of :data:`THREE_ROW_MINORITY`
(``X`` uniform, then one of its rarer-sign edges uniformly) instead of a target by in-degree; the
second is uniform as in every two-target trade, and the same heat bath re-deals the two columns.
No acceptance step: the heat bath keeps every row's pattern over the two columns up to a swap,
so ``X``'s rarer-sign edges among them, and with them the pair's probability, are the same
before and after (``tests/test_motifs_ensemble``). Why: a big source with one edge of its rarer
sign (toy-base chain-1-think-p51 of the 2026-12-07 toy run: a node with 79 excitatory edges and
one inhibitory one) carries a signed class through *where* that one edge points — its
``ffl_I4`` share had τ 178 × E, the class 131 — and a two-target trade moves it only when it
draws that edge's target, about one in the ~130 targets. Slowest signed class's τ (60,000 counts one E
apart) at shares 0 / 0.3 / 0.5 / 0.7 on that graph: 151 / 50 / 45 / 40 × E, and chain CPU per
effective sample 3.2× lower at 0.5. On seven other slow toy graphs and the four dense bench
graphs the slowest τ moved within its noise (±7%) and the time per effective sample by 0.92–1.20×
(median 1.05) at 0.5; at 0.7 the dense 21-layer graph's rose 1.18× (docs/motif-nulls.md,
"Anchored two-target trades"). The second target is uniform over every target of the pair, each
once, and the move is charged a fixed amount of work: until 2026-12-07 it was drawn from the
targets per sign (those with in-edges of both signs twice, frozen ones never) and charged the
first target's in-degree, which is not symmetric once the first target comes from the state
(the reverse move draws it as its second), and put toy-base chain-0-think-p49's ``ffl_C4`` and
``cross_chain_inhibition`` null means 6–7 SE off a long swap chain (16,000 samples against
8,000; 2.0 SE at most over every class after the fix). At 0.25 since that fix: on the 11
slowest graphs of the single-logit toy run, the kept-sign null's time summed over them came to
1.89× and 1.76× the unsigned null's at 0.5, 1.70× and 1.48× at 0.25 (seeds 0 and 1; auto
thinning, median of 3 timings). A row-hole trade (the hole trade's transpose, on a near-full
row such as an embedding hub reaching 64 of 68 targets) was tried beside it and not kept: the
slowest class of toy-base addition-0-think-p42 went from τ 24.8 to 21.2 × E, and the 11
graphs' sum from 1.70× to 1.84×. ``X`` is drawn by its commoner-sign out-degree, not uniformly
(:meth:`SwapChain._anchor_sources`): a hub's one rarer-sign edge forms a motif with every
target the hub shares with that edge's target, so where it points carries most of a signed
class (toy-base multiplication-0-answer-p70 of the single-logit toy run: a node with 71
excitatory edges and one inhibitory one held 81% of ``ffl_I4``'s variance, and the node its
inhibitory edge reached, with 37 out-edges, 68%; that edge sat on it for ~19 × E at a time,
among ~15 nodes drawn alike). Slowest signed class's τ (20,000 counts one E apart, seed 3) on
that graph 28.2 → 15.6 × E; over the 60 toy graphs (kept-sign over unsigned time, mean over 3
seeds of the median of 2 timings) graphs above 2× 1–2 → 0, the largest ratio 2.03 and 2.22 →
1.96 and 1.84, the geometric mean within its noise (1.26–1.35 either way); the 8 dense graphs
of bench seeds 0 and 1: largest ratio 1.60 → 1.52, geometric mean 1.40 → 1.37 (noise ±0.1)."""
MEDIATOR_WEIGHT = 1.0
"""In the kept-sign chain whose one layer pair spans the graph (``configuration``), a two-target
signed trade's first target is drawn by its in-degree in the stratum *plus* this many times its
out-degree (not in layer-pair chains, where a target's out-edges are another pair's). A target that
is also a source with many out-edges is a mediator: each of its in-edges from a node ``X`` makes
a feed-forward loop with every target the two share, so which rows reach it carries the FFL
classes, and by in-degree alone a mediator with 1–2 in-edges is seldom drawn (toy-base
chain-0-think-p49: 84% of ``ffl_I2``'s variance through one embedding node, 70% through a
mediator with 18 out-edges whose in-edges it holds). Both targets are still drawn without
reading the state, so the move stays symmetric. Slowest signed class's τ (20,000 counts one E
apart, seed 3; with :data:`P_ANCHOR`'s weighted ``X``) at 0 / 0.5 / 1 / 2: chain-0-think-p49
21.6 / 15.3 / 14.8 / 11.2 × E, multiplication-0-answer-p70 15.6 / 14.4 / 13.1 / 11.8; chain
CPU per E of work rises with it (the mediators' columns are fuller). Over the 60 toy graphs at
0 / 0.5 / 1 / 2: geometric mean of the kept-sign over unsigned time 1.32 / 1.29 / 1.27 / 1.24,
largest 1.94 / 1.74 / 1.79 / 1.92 (±2–5% run to run); the 8 dense graphs at 0 / 0.5 / 1: 1.37
/ 1.44 / 1.35, largest 1.52 / 1.59 / 1.46 (their noise)."""
THREE_ROW_MINORITY = 0.35
"""A three-row move's ``X`` is uniform over the sources with both signs whose rarer sign has at
most this share of the other's edges (the toy think graphs' embedding nodes, 1–6 excitatory
against 19–87 inhibitory edges; on comparison-0-think-p33, nodes of 5 against 15 and 13 against
43). Those few rarer-sign edges, next to hubs that most sources reach, are the slow mode; a
node with both signs in like numbers (most sources of the dense bench graphs, where about a
third qualify) has its signs moved by the trades, and a move on it mostly costs. Which nodes
qualify is fixed by the signed degrees, so the pick reads no state. Before, ``X`` was any node with both signs, drawn by
rejection from the sign with fewer sources: on most of toy-base's think graphs 2–9 of 14–24 rows,
so an eighth to a third of the moves had one. Measured (slowest signed class's τ, 100,000–
200,000 counts one E apart, seed 7; chain CPU per E of work, best of five), share 0.25, ``X``
as before / uniform over all nodes with both signs / over those with a rarer sign at most 0.15
/ 0.35 of the other: toy-base word_problem-0-think-p87 τ 163 / 73 / 73 / 73 × E at 1.60 / 2.60
/ 1.82 / 1.77 µs, addition-1-think-p80 133 / 83 / 53 / 58 at 1.76 / 2.74 / 1.88 / 1.88,
chain-0-think-p61 191 / 118 / 126 / 139 at 1.47 / 2.23 / 1.49 / 1.55, comparison-0-think-p33
64.5 / – / 91 / 56.5 at 0.82 / – / 0.86 / 1.16, comparison-1-think-p33 50 / – / 76 / 48 at 0.98 /
– / 0.99 / 1.34, addition-0-answer-p84 38 / 32 / 34 / 35 at 3.61 / 5.38 / 3.80 / 3.76; the dense
bench's 21- and 6-layer graphs τ 5.9 / 5.9 / 5.9 / 6.0 and 7.8 / 8.1 / 8.7 / 7.9 at 9.19 / 12.39 /
8.94 / 9.06 and 7.13 / 8.62 / 6.92 / 7.03 µs. At 0.15 the p33 graphs kept their slow class
(their rarer-sign nodes are the 0.3 ones); in ``bench/bench_motifs.py`` at seed 0 their
kept-sign ``configuration`` thinning went 96 → 51 and 73 → 45 × E from 0.15 to 0.35. With the
0.15 pick at shares 0.45 and 0.65, τ × cost was higher than at 0.25 on four of five toy graphs
and both dense ones."""
P_HOLE = 0.3
"""Share of the signed (row) trades that are hole trades (``swapchain``'s module doc) in the
kept-sign chain whose one pair spans the graph (``configuration``; 0 in layer-pair chains, the
reference chains and unsigned ones): a near-full column (:data:`HOLE_FILL`), a sign, one row
uniform over the column's holders of that sign, the other over that sign's sources without an
edge to it. Since the toy graphs explain only the planned token (one logit node, reached by all
but 2–6 of ~70 sources), which rows lack it was the kept-sign chain's slow mode: a single-edge
row's edge leaves the logit only when a trade pairs it with one of the few rows that lack it
(toy-base chain-1-think-p63: 16 such rows with τ 80–165 × E, the slowest class's τ 68–75).
Slowest signed class's τ (20,000 counts one E apart) on the six slowest graphs of the
single-logit toy run (toy-base chain-1-think-p63, addition-1-answer-p94, chain-1-think-p51,
addition-1-think-p80, word_problem-1-think-p84, addition-0-think-p71) without the move: 74.8,
25.1, 35.6, 42.5, 24.3, 22.7 × E; holders drawn over both signs at 0.25: 38.2, 26.8, 26.6,
27.0, 25.3, 22.1; at 0.5: 24.4, 19.7, 23.3, 24.1, 18.3, 19.7; at 0.75 no better (24.2, 14.6,
30.8, 17.3, 14.4, 23.3). Drawing the holders of one sign (and the lackers of that sign) instead
of any holder moved which single-edge *inhibitory* rows lack the logit (word_problem-1-think-p84:
τ 23–26 → 3–5 × E). With :data:`P_HOLE_THREE` the six became 10.0, 9.2, 23.4, 13.5, 15.1, 13.6.
With the three-row moves beside it, 0.3 gave the lower time per sample over the 60 graphs
(geometric mean of the kept-sign/unsigned time ratio 1.44 against 1.48–1.52 at 0.5 and 1.61 at
0.7; with :data:`P_THREE_ROW` at 0.15, 1.37–1.38: see there)."""
P_HOLE_THREE = 0.5
"""Share of the three-row moves that are anchored on a near-full column (``swapchain``'s module
doc: ``h`` is the column, ``X`` any source with both signs, ``u`` and ``v`` drawn from the rows
that lack it / hold it with the other sign, and their counts enter the acceptance ratio). With
the hole trades alone, with which sign the two-sign rows reach the logit stayed slow
(chain-1-think-p63: τ 38 × E for the count of their excitatory edges on it, 0.6 correlated with
the slowest class): it changes only when a row of the other sign lacks the logit, which the
plain three-row move finds by chance. At 0.5 that count's τ fell to 6.9 × E and the slowest
class's from 27.5 to 11.3. ``X`` any node with both signs (not only :data:`THREE_ROW_MINORITY`'s):
rows of 1–3 edges of each sign had the same slow mode (chain-1-think-p51, τ 38–50 × E)."""
HOLE_FILL = 0.5
"""A column is near-full (a hole move's column) when the pair's sources with an edge to it are
at least this share of those that could have one, and not all of them: the toy graphs' logit
(65 of 69, 75 of 89); their next-largest columns hold 15–25%, where plain trades find the rows
that lack them."""
EXACT_BUDGET = 20_000  # most steps (rows or + choices tried) enumerating a layer pair (a larger one keeps the trades)
_NO_MAX_GAP = 1 << 40
_FFL_COLUMNS = np.array([PATTERN_OF_TYPE[t] for t in FFL_TYPES])


@dataclass(frozen=True)
class ChainSchedule:
    """Chain schedule in units of ``E`` *slot visits* (the chain's work; see :mod:`.swapchain`)."""

    burn_in: float = 200.0
    """Work before the first sample, × E. Cheap (~1 ms at E = 1,500); igraph-rewire swap chains
    have converged by 10 × E attempts, each of which is one visit here."""
    thin: float | None = None
    """Work between samples, × E; ``None``: measured per chain (:meth:`SwapChain.calibrate`) —
    after burn-in a pilot of ``pilot`` counts, one every ``pilot_lag`` × E, gives the slowest
    class's autocorrelation per E (:func:`thinning_from_acf`), and the thinning is the lag where
    it falls to ``target_acf``, within ``[min_thin, max_thin]``."""
    target_acf: float = 0.1
    """Autocorrelation aimed for between consecutive samples (auto thinning): at 0.1 the
    effective sample size is ~80% of the sample count (1 + 2·0.1 + … ≈ 1.2 per sample). The
    pilot misses part of the slow tails: over the 240 chains of ``bench_motifs.py`` on a toy
    run's 60 graphs (1,000 samples each), the samples' lag-1 autocorrelation (max over classes,
    which itself reads ~0.05 high at this size) had median 0.13, 90th percentile 0.20, max 0.51
    (kept-sign ``layer_configuration`` on one 1,464-edge think graph whose slowest class
    relaxes over ~76 × E, a slow mode of small amplitude that a pilot at lags of 2 and 4 × E
    does not see); a pilot at lag 4 × E got closer (0.06–0.19 where the default got 0.10–0.24
    on five graphs) for 20–60% more time on some graphs. Against the truth
    (``bench/bench_thinning.py``: the lag a 200,000-count recording of the same chain needs, and
    the pilot replayed on its windows; 40 chains on ten toy and dense graphs) the pilot's choice is
    a median 0.88 of the needed thinning (0.32 on that slow mode), the true autocorrelation at
    its choice a median 0.110. Fitting ρ over lags 1–4 of the pilot moved the slow mode's choice
    from 22.9 to 28.0 × E (70 needed) and the others' little; lags 1–8, or a second pilot at a
    quarter of the first one's thinning, widened the spread of the choice more than they moved it."""
    pilot: int = 400
    """Pilot counts for the auto thinning; those a thinning apart are the first samples."""
    pilot_lag: float = 2.0
    """Work between pilot counts, × E."""
    pilot_share: float = 0.05
    """A slow chain's pilot is extended by ``pilot`` counts (up to ``max_pilot``) while its work
    is below this share of the sampling work the thinning it found plans (samples × thin). The
    slow chains are those where a noisy thinning costs most: on a 265-edge toy graph one seed's
    400-count pilot read a rare class's autocorrelation high and asked for 21.7 × E where 800
    counts gave 14.0 and 1,200 gave 13.7 (the median over 24 seeds is 12)."""
    max_pilot: int = 1600
    """Most pilot counts (with ``pilot_share``)."""
    min_changes: int = 10
    """A class's pilot series counts toward the thinning only if its value changed at least this
    many times: a class the pilot sees in a burst or two has an autocorrelation the pilot cannot
    measure, and one burst reads as a slow mode. Toy-base addition-1-think-p80's unsigned
    ``configuration`` at seed 1: class 300 was present in 24 consecutive of 1,600 pilot counts
    (2 changes), read ρ(2 × E) = 0.958 and set the thinning to 108 × E, where a 100,000-count
    recording of the chain needs 38 and the pilot replayed on its windows chose 25 (median of 58
    pilots) — that null then ran at 10.6× the circuit-motifs way's speed instead of ~40×. The
    other classes of that pilot changed 243–1,543 times."""
    min_thin: float = 2.0
    max_thin: float = 200.0
    exact_states: int = 256
    """Kept-sign chains table every layer pair with at most this many realizations (of its
    signed degrees; the enumeration stops after ``EXACT_BUDGET`` steps) and redraw each
    such pair uniformly from its table before every count (``swapchain.redraw_tables``), so
    those pairs are independent from sample to sample and the moves spend no work on them
    (0: no tables, trades everywhere). On the 6-layer toy run's think graphs the moves had left
    the smallest pairs slowest (a 2 × 2 pair of 2 edges held toy-base addition-0-think-p42's
    slowest class at τ = 56 × E; 43 with the per-sample redraw at a cap of 64). Raising the cap
    from 64 to 256 cut τ on three of six slow toy graphs by 11–19% for the same setup time
    (median 5.5 ms over 64 graphs, max 30); at 1,024 the setup reached 134 ms on one toy
    graph, more than the null itself. A pair with a single realization is marked in every chain
    (signed or not) and takes no moves: on toy-base word_problem-0-think-p70 such pairs hold 419
    of 821 edges (kept signs) and 407 (unsigned), work the moves had spent on proposals that
    could only be rejected."""
    moves: str = "trade"
    """``trade`` (the sampler); ``swap``: double swaps instead of trades, with the same triangle
    and sign moves (the reference chains); ``classic``: double swaps only, as igraph's
    ``rewire`` (reducible on some degree sequences — kept to show it)."""

    def __post_init__(self) -> None:
        if self.moves not in ("trade", "swap", "classic"):
            raise ValueError(f"moves must be 'trade', 'swap' or 'classic', got {self.moves!r}")
        if self.burn_in < 0 or (self.thin is not None and self.thin <= 0):
            raise ValueError(f"need burn_in >= 0 and thin > 0, got {self.burn_in}, {self.thin}")
        if not 0 < self.target_acf < 1 or self.pilot < 20 or not 0 < self.min_thin <= self.max_thin:
            raise ValueError("need 0 < target_acf < 1, pilot >= 20 and 0 < min_thin <= max_thin")
        if self.min_changes < 0:
            raise ValueError(f"need min_changes >= 0, got {self.min_changes}")
        if not 0 <= self.pilot_share < 1 or self.max_pilot < self.pilot:
            raise ValueError(f"need 0 <= pilot_share < 1 and max_pilot >= pilot, got {self.pilot_share}, {self.max_pilot}")


def thinning_from_acf(series: np.ndarray, target: float, lo: float, hi: float, lag: float = 1.0, min_changes: int = 0) -> tuple[float, float]:
    """``(thin, r)``: thinning (× E) for autocorrelation ``target`` from a pilot ``[P, K]``
    series taken every ``lag`` × E, and the per-E autocorrelation ``r`` of the slowest class it
    rests on: ``r = max(ρ(lag)^(1/lag), ρ(2·lag)^(1/(2·lag)))`` (the longer lag catches slow
    tails that a one-exponential fit of the short lag misses; it counts only when above the
    noise of a maximum over classes, 2.5/√P), ``thin = log(target) / log(r)``. Classes whose
    value changed fewer than ``min_changes`` times are left out (``ChainSchedule.min_changes``)."""
    x = np.asarray(series, dtype=np.float64)
    changes = (np.diff(x, axis=0) != 0).sum(0)
    x = x[:, (x.std(0) > 0) & (changes >= min_changes)]
    if x.shape[0] < 4 or x.shape[1] == 0:
        return lo, 0.0
    x = (x - x.mean(0)) / x.std(0)
    noise = 2.5 / np.sqrt(x.shape[0])  # the max over classes of pure-noise estimates stays below
    r1 = max(float(np.mean(x[:-1] * x[1:], 0).max()), 0.0)
    r2 = float(np.mean(x[:-2] * x[2:], 0).max())
    r2 = r2 if r2 > noise else 0.0
    r = min(max(r1 ** (1.0 / lag), r2 ** (1.0 / (2.0 * lag))), 0.999)
    k = np.log(target) / np.log(r) if r > 0 else lo
    return float(np.clip(k, lo, hi)), r


def pilot_thinning(schedule: ChainSchedule, samples: int, more: Callable[[int], np.ndarray]) -> tuple[np.ndarray, float, float]:
    """``(series, thin, r)``: the auto thinning's pilot (see :class:`ChainSchedule`). ``more(k)``
    returns the chain's next ``k`` counts, one every ``pilot_lag`` × E: ``pilot`` of them, then
    ``pilot`` more at a time (up to ``max_pilot``) while the pilot costs less than
    ``pilot_share`` of drawing ``samples`` at the thinning found so far. One function, so that
    ``bench/bench_thinning.py`` replays on a long recorded series exactly what a chain decides."""
    sch = schedule
    series = more(sch.pilot)
    thin, r = thinning_from_acf(series, sch.target_acf, sch.min_thin, sch.max_thin, sch.pilot_lag, sch.min_changes)
    while len(series) < sch.max_pilot and len(series) * sch.pilot_lag < sch.pilot_share * samples * thin:
        series = np.concatenate([series, more(min(sch.pilot, sch.max_pilot - len(series)))])
        thin, r = thinning_from_acf(series, sch.target_acf, sch.min_thin, sch.max_thin, sch.pilot_lag, sch.min_changes)
    return series, thin, r


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


def finish_signed(raw: np.ndarray) -> np.ndarray:
    """``[S, SIGNED_MOTIFS]`` from the kernels' ``[S, 11]`` (FFL sign patterns first)."""
    return np.concatenate([raw[:, _FFL_COLUMNS], raw[:, 8:11]], axis=1)


def _gap_bounds(gaps: GapLimits) -> tuple[int, int]:
    return int(gaps.min_gap), _NO_MAX_GAP if gaps.max_gap is None else int(gaps.max_gap)


class SwapChain:
    """One run of the compiled swap chain on ``edges`` with edge ``strata`` (see module doc).

    Started from the real graph; the first draw burns in, later draws continue the same chain.
    ``accepted``/``proposed`` count the moves (the acceptance rate is logged and benchmarked).
    """

    def __init__(self, edges: EdgeSet, strata: np.ndarray, rng: np.random.Generator, schedule: ChainSchedule = ChainSchedule(), sign_pairs: bool = False):
        self.edges, self.schedule = edges, schedule
        self.n, self.E = edges.n, edges.m
        raw, strata = np.unique(np.asarray(strata), return_inverse=True) if self.E else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        strata = strata.reshape(-1).astype(np.int64)
        # signed strata come as 2 * pair + sign: the partner is the same pair with the other sign
        self.partner = np.full(raw.size, -1, np.int64)
        if sign_pairs and raw.size:
            other = np.searchsorted(raw, raw ^ 1)
            hit = (other < raw.size) & (raw[np.minimum(other, raw.size - 1)] == (raw ^ 1))
            self.partner[hit] = other[hit]
        self.signs_kept = bool(sign_pairs)
        one_stratum = raw.size == 1  # one stratum and no partner: unsigned, or kept signs of one sign
        self.p_column = P_COLUMN_ONE_STRATUM if schedule.moves == "trade" and one_stratum else 0.0
        """Share of the moves within one stratum that are two-target trades
        (:data:`P_COLUMN_ONE_STRATUM` where the chain has a single stratum — the unsigned
        ``configuration`` null, or a kept-sign one on a graph of one sign; 0 elsewhere: layer-pair
        chains, kept-sign chains with both signs, whose signed moves have their own two-target
        trade, and the reference chains)."""
        # the chain's own node labels (see bit_order); src/tgt/bits use them, callers get nodes back
        self.node_of = bit_order(edges)
        label = np.empty(self.n, np.int64)
        label[self.node_of] = np.arange(self.n)
        order = np.lexsort((label[edges.src], strata))
        self.sources = np.ascontiguousarray(edges.src[order], dtype=np.int64)
        self.src = np.ascontiguousarray(label[edges.src[order]], dtype=np.int64)
        self.tgt = np.ascontiguousarray(label[edges.dst[order]], dtype=np.int64)
        self.sid = strata[order]
        self.neg = np.ascontiguousarray(edges.neg[order], dtype=np.bool_)
        self.size = np.bincount(self.sid).astype(np.int64) if self.E else np.zeros(0, np.int64)
        self.off = (np.cumsum(self.size) - self.size).astype(np.int64)
        self.run_lo, self.run_hi = SC.source_runs(self.src, self.sid) if self.E else (np.zeros(0, np.int64), np.zeros(0, np.int64))
        self.slot_pair = np.where(self.partner[self.sid] >= 0, np.minimum(self.sid, self.partner[self.sid]), self.sid)
        """Per slot its layer pair, named by the pair's lower stratum (both signs of a kept-sign pair share it)."""
        n = max(self.n, 1)
        self.pairs_distinct = np.intersect1d(self.slot_pair * n + self.src, self.slot_pair * n + self.tgt).size == 0
        """Whether no node is both a source and a target of one layer pair (layer-pair strata,
        not one pair that is the whole graph): the choice of source picks, first targets and
        move weights."""
        self.picks, self.pick_off, self.pick_size = self._pick_tables()
        if self.E:
            self.alt_lo, self.alt_hi = SC.partner_runs(self.src, self.off, self.size, self.sid, self.partner)
        else:
            self.alt_lo, self.alt_hi = np.zeros(0, np.int64), np.zeros(0, np.int64)
        longest = int((self.run_hi - self.run_lo).max()) if self.E else 0
        self.scratch = np.zeros((6, max(2 * longest + 2, self.n + 1)), np.int64)
        W = max(1, (self.n + 63) // 64)
        self.ws = np.zeros((10, W), np.uint64)
        self.out_b = np.zeros((max(self.n, 1), W), np.uint64)
        self.in_b = np.zeros((max(self.n, 1), W), np.uint64)
        SC.fill_bits(self.src, self.tgt, self.out_b, self.in_b)
        # kept signs: the negative edges as bit matrices too, moved with them (stratum parity = sign)
        self.sneg = (raw & 1).astype(np.int64) if sign_pairs else np.zeros(raw.size, np.int64)
        self.neg_out = np.zeros_like(self.out_b)
        self.neg_in = np.zeros_like(self.in_b)
        if sign_pairs and self.E:
            if not np.array_equal(self.sneg[self.sid].astype(bool), self.neg):
                raise ValueError("signed strata must be 2 * pair + sign")
            SC.fill_bits(self.src[self.neg], self.tgt[self.neg], self.neg_out, self.neg_in)
        self.tmask, self.smask = self._layer_masks(raw, np.asarray(edges.layer, dtype=np.int64)[self.node_of], W)
        if sign_pairs:  # rows strata + s: the sources of stratum s itself (the hole moves' rows of one sign)
            own = np.zeros_like(self.smask)
            for s in range(raw.size):
                own[s] = _node_bits(np.unique(self.src[self.sid == s]), W)
            self.smask = np.ascontiguousarray(np.concatenate([self.smask, own]))
        self.swap_only = schedule.moves in ("swap", "classic")
        classic = schedule.moves == "classic"
        self.p_tri = P_TRIANGLE if self._cycles_possible() and not classic else 0.0
        self.p_sign = (P_SIGN if schedule.moves == "trade" else P_SIGN_SWAP) if (self.partner >= 0).any() and not classic else 0.0
        self.p_uniform, self.p_uniform_few = self._uniform_source_share()
        has_hole = bool(self.signs_kept and self.E and not self.pairs_distinct and self.pick_size[7].any() and not self.swap_only)
        self.p_hole_three = P_HOLE_THREE if has_hole and self.pick_size[8].any() else 0.0
        """Share of the three-row proposals anchored on a near-full column (:data:`P_HOLE_THREE`)."""
        has_x = self.signs_kept and self.E and not self.pairs_distinct and self.pick_size[6].any() and not self.swap_only
        self.p_three = P_THREE_ROW if has_x or self.p_hole_three > 0 else 0.0
        """Share of the signed proposals that are three-row moves (:data:`P_THREE_ROW`; 0 without
        a node for ``X``)."""
        self.p_hole = P_HOLE if has_hole else 0.0
        """Share of the signed trades that are hole trades (:data:`P_HOLE`; 0 without a near-full column)."""
        self.p_anchor = P_ANCHOR if has_x else 0.0
        """Share of the signed two-target trades that are anchored (:data:`P_ANCHOR`; 0 without a
        node for ``X``)."""
        self.ex_int, self.ex_bits = self._exact_tables(W)
        count = self.ex_int[: self.size.size]
        first = (self.partner < 0) | (np.arange(self.size.size) < self.partner)  # a kept-sign pair counted once
        self.tabled_pairs = int(((count > 1) & first).sum())
        """Layer pairs with a table (redrawn exactly before every count, left alone by the moves)."""
        self.fixed_pairs = int(((count == 1) & first).sum())
        """Layer pairs with a single realization (left alone by the moves, nothing to redraw)."""
        self.shares = self._shares()
        self.rng = SC.seed_state(rng)
        self.burnt = False
        self.accepted = 0
        self.proposed = 0
        self.thin = schedule.thin  # visits between samples, × E (set by calibrate when None)
        self.pilot_acf = float("nan")
        self.pilot_counts = 0
        self._pilot_rows: np.ndarray | None = None  # the pilot's counts until the first draw takes them
        self._pilot_step = 1

    def _uniform_source_share(self) -> tuple[float, float]:
        """``(p_uniform, p_uniform_few)``: :data:`P_UNIFORM_SOURCES` for this chain — the first
        pair where no node is both a source and a target of one layer pair (layer-pair strata),
        the second otherwise; ``(0, 0)`` without signed moves."""
        if not (self.partner >= 0).any() or not self.E:
            return 0.0, 0.0
        many, few = P_UNIFORM_SOURCES[0] if self.pairs_distinct else P_UNIFORM_SOURCES[1]
        return float(many), float(few)

    def _pick_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(picks, pick_off [10, strata], pick_size [10, strata])``: per stratum ``s``, row by row,

        0. the first slots of its (stratum, source) runs, frozen sources left out: a trade's two
           sources, uniform (and a signed trade's, in a share ``p_uniform`` of them);
        1. its targets that are not frozen (:meth:`_frozen_slots`), as nodes, once each: a
           two-target signed move's second target (uniform over rows 1 of ``s`` and its partner),
           and both targets of a two-target trade (:attr:`p_column`);
        2. for each source of its layer pair (``s`` and its partner) that is not frozen, one of
           its slots, repeated by its out-degree in the pair: a signed trade's two sources by
           degree (the other ``1 - p_uniform``);
        3. its targets that are not frozen, repeated by their in-degree in ``s`` (plus
           :data:`MEDIATOR_WEIGHT` × their out-degree where one pair spans the graph): a
           two-target signed move's first target;
        4. its slots whose source has in-edges in ``s`` too, and
        5. its nodes with in- and out-edges in ``s``: a triangle reversal's first edge and third
           node (a 3-cycle of ``s`` has only such nodes; on the toy think graphs a fifth of the
           slots and a fifth of the nodes);
        6. the three-row move's node ``X`` (:meth:`_three_row_sources`); like row 2, one segment
           that both strata of the pair share;
        7. the hole moves' near-full columns (:meth:`_near_full_columns`) and
        8. a hole three-row move's ``X``, any source with both signs (:meth:`_both_sign_sources`);
        9. an anchored two-target trade's ``X``: row 6's nodes repeated by their commoner-sign
           out-degree (:meth:`_anchor_sources`); rows 7–9 per pair, like row 6.

        Rows 2, 3 and 6–9 only where ``s`` has a partner (signed moves), row 1 also where
        :attr:`p_column` is not 0. Fixed by the chain, so picks from
        them do not depend on its state. A move with a frozen node can change nothing, and
        without them the moves spend their work where it can: on the toy think graphs, whose
        embedding hub points to every target, the kept-sign chain's slowest class's integrated
        autocorrelation fell 8–14% (per E of work, which costs the same)."""
        n_strata, n = self.size.size, max(self.n, 1)
        src_key, tgt_key = self.sid * n + self.src, self.sid * n + self.tgt
        signed = self.partner[self.sid] >= 0
        frozen_src, frozen_tgt = self._frozen_slots()
        run_first = np.flatnonzero((self.run_lo == np.arange(self.E)) & ~frozen_src)
        distinct = np.unique(tgt_key[(signed | (self.p_column > 0)) & ~frozen_tgt])
        first_targets = tgt_key[signed & ~frozen_tgt]  # by in-degree (one entry per in-edge) ...
        if MEDIATOR_WEIGHT > 0 and not self.pairs_distinct and first_targets.size:  # ... plus MEDIATOR_WEIGHT x out-degree
            keys = np.unique(first_targets)
            out_degree = np.bincount(self.src, minlength=n)[keys % n]
            first_targets = np.concatenate([first_targets, np.repeat(keys, np.round(MEDIATOR_WEIGHT * out_degree).astype(np.int64))])
        first_targets = np.sort(first_targets)
        core = np.intersect1d(src_key, tgt_key)
        on_cycles = np.flatnonzero(np.isin(src_key, core))  # slots whose source is in ``core``
        # row 2: one slot per (layer pair, source), the pair's first; the two strata of a pair
        # share one segment (they are adjacent, so their slots are)
        pair = self.slot_pair
        _, first, inverse = np.unique(pair * n + self.src, return_index=True, return_inverse=True)
        trade = signed & ~frozen_src
        per_pair = np.bincount(pair[trade], minlength=n_strata)
        rare = self._three_row_sources()
        full = self._near_full_columns()
        both = self._both_sign_sources()
        anchor = self._anchor_sources()
        values = [run_first, distinct % n, first[inverse.reshape(-1)][trade], first_targets % n, on_cycles, core % n, rare % n, full % n, both % n, anchor % n]
        sizes = [np.bincount(self.sid[run_first], minlength=n_strata), np.bincount(distinct // n, minlength=n_strata), per_pair,
                 np.bincount(first_targets // n, minlength=n_strata), np.bincount(self.sid[on_cycles], minlength=n_strata), np.bincount(core // n, minlength=n_strata),
                 np.bincount(rare // n, minlength=n_strata), np.bincount(full // n, minlength=n_strata), np.bincount(both // n, minlength=n_strata), np.bincount(anchor // n, minlength=n_strata)]
        base = np.cumsum([0] + [v.size for v in values])[:-1]
        pick_off = np.stack([b + np.cumsum(z) - z for b, z in zip(base, sizes)])
        pick_size = np.stack(sizes)
        owner = np.where(self.partner >= 0, np.minimum(np.arange(n_strata), self.partner), np.arange(n_strata))
        pick_off[2], pick_size[2] = pick_off[2][owner], np.where(self.partner >= 0, per_pair[owner], 0)
        pick_off[6], pick_size[6] = pick_off[6][owner], pick_size[6][owner]  # keyed by pair, as row 2
        for row in (7, 8, 9):
            pick_off[row], pick_size[row] = pick_off[row][owner], pick_size[row][owner]
        picks = np.concatenate(values).astype(np.int64) if self.E else np.zeros(0, np.int64)
        return picks, np.ascontiguousarray(pick_off, dtype=np.int64), np.ascontiguousarray(pick_size, dtype=np.int64)

    def _exact_tables(self, W: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ex_int, ex_bits)``: every realization of each small layer pair of a kept-sign chain,
        for :func:`swapchain.redraw_tables` (the moves skip such pairs). ``ex_int``: per stratum
        its pair's number of realizations (0: none, trades instead), rows, first state row and
        first row node (``[4, strata]`` flattened), then the row nodes; ``ex_bits[0 / 1, state row]``: a row's
        excitatory / inhibitory edges of the pair as a bit row. A pair qualifies when its sources
        and targets are distinct nodes (so no other pair's edges constrain it) and it has at most
        ``schedule.exact_states`` realizations with its signed degrees (enumerated with a step
        budget: larger pairs give up early and keep the trades). A pair with one realization gets
        count 1 and no table, in unsigned chains too (enumerated as one sign): the moves skip it
        and there is nothing to redraw."""
        n_strata, n = self.size.size, max(self.n, 1)
        meta = np.zeros((4, n_strata), np.int64)
        row_nodes, pos, neg = [], [], []
        cap = self.schedule.exact_states
        if cap > 0 and self.schedule.moves == "trade" and self.E:
            # per slot its pair (both signs) and its row / column within the pair, all pairs at once
            pair = self.slot_pair
            row_keys, row = np.unique(pair * n + self.src, return_inverse=True)
            col_keys, col = np.unique(pair * n + self.tgt, return_inverse=True)
            row, col = row.reshape(-1), col.reshape(-1)
            rows_of = np.bincount(row_keys // n, minlength=n_strata)
            cols_of = np.bincount(col_keys // n, minlength=n_strata)
            first_row = np.cumsum(rows_of) - rows_of
            first_col = np.cumsum(cols_of) - cols_of
            mixed = np.bincount(pair[np.isin(pair * n + self.src, col_keys)], minlength=n_strata) > 0  # a node both sends and receives
            sign = self.neg if self.signs_kept else np.zeros(self.E, bool)  # unsigned: all one sign
            rp, rn = (np.bincount(row[sign == sg], minlength=row_keys.size) for sg in (False, True))
            cp, cn = (np.bincount(col[sign == sg], minlength=col_keys.size) for sg in (False, True))
            state_rows = 0
            for g in np.flatnonzero((rows_of > 0) & (rows_of <= 64) & (cols_of <= 64) & ~mixed):
                r = slice(first_row[g], first_row[g] + rows_of[g])
                c = slice(first_col[g], first_col[g] + cols_of[g])
                count, p_loc, n_loc = SC.signed_realizations(rp[r], rn[r], cp[c], cn[c], cap if self.signs_kept else 1, EXACT_BUDGET)
                group = [g] if self.partner[g] < 0 else [g, int(self.partner[g])]
                if count == 1:  # one realization: no move can change the pair, so none spends work on it
                    meta[0, group] = 1  # no rows, no states: nothing to redraw
                    continue
                if count < 2:  # gave up, or (unsigned, cap 1) more than one: the trades keep it
                    continue
                targets = col_keys[c] % n
                bits = np.zeros((2, count, rows_of[g], W), np.uint64)
                for k, t in enumerate(targets):  # local column k is target label t
                    for side, loc in ((0, p_loc[:count]), (1, n_loc[:count])):
                        bits[side, :, :, t >> 6] |= ((loc >> np.uint64(k)) & np.uint64(1)) << np.uint64(t & 63)
                meta[:, group] = np.array([count, rows_of[g], state_rows, sum(x.size for x in row_nodes)])[:, None]
                row_nodes.append(row_keys[r] % n)
                pos.append(bits[0].reshape(-1, W))
                neg.append(bits[1].reshape(-1, W))
                state_rows += count * rows_of[g]
        ex_int = np.concatenate([meta.ravel()] + row_nodes).astype(np.int64)
        ex_bits = np.stack([np.concatenate(pos), np.concatenate(neg)]) if pos else np.zeros((2, 1, W), np.uint64)
        return ex_int, np.ascontiguousarray(ex_bits, dtype=np.uint64)

    def _both_sign_sources(self) -> np.ndarray:
        """Keys ``pair * n + node`` of the sources with edges of both signs in a kept-sign pair:
        a hole three-row move's ``X``, whatever the share of its rarer sign."""
        keys, rarer, _ = self._signed_out_degrees()
        return keys[rarer > 0]

    def _three_row_sources(self) -> np.ndarray:
        """Keys ``pair * n + node`` of the nodes a three-row move may take as ``X``: sources with
        both signs in the pair whose rarer sign has at most :data:`THREE_ROW_MINORITY` times the
        other's edges. Their few edges of the rarer sign are the slow mode the move is for; on a
        node with both signs in like numbers the trades move them, and the move only costs."""
        keys, rarer, other = self._signed_out_degrees()
        return keys[(rarer > 0) & (rarer <= THREE_ROW_MINORITY * other)]

    def _anchor_sources(self) -> np.ndarray:
        """Keys of :meth:`_three_row_sources`, each repeated by its commoner-sign out-degree in
        the pair: an anchored two-target trade's ``X`` (:data:`P_ANCHOR` says why). Fixed by the
        signed degrees, so the pick reads no state."""
        keys, rarer, other = self._signed_out_degrees()
        rare = (rarer > 0) & (rarer <= THREE_ROW_MINORITY * other)
        return np.repeat(keys[rare], other[rare])

    def _signed_out_degrees(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(keys, rarer, other)``: every source of a kept-sign pair (keys ``pair * n + node``,
        sorted) with its count of edges of its rarer and of its commoner sign in the pair."""
        n = max(self.n, 1)
        signed = self.partner[self.sid] >= 0
        keys, inverse = np.unique(self.slot_pair[signed] * n + self.src[signed], return_inverse=True)
        negative = np.bincount(inverse.reshape(-1), weights=self.neg[signed], minlength=keys.size).astype(np.int64)
        positive = np.bincount(inverse.reshape(-1), minlength=keys.size).astype(np.int64) - negative
        return keys.astype(np.int64), np.minimum(positive, negative), np.maximum(positive, negative)

    def _near_full_columns(self) -> np.ndarray:
        """Keys ``pair * n + node`` of the hole trades' columns (:data:`HOLE_FILL`): targets of a
        kept-sign pair held by most of the pair's sources that could point to them (all but the
        target itself), not by all."""
        n = max(self.n, 1)
        signed = self.partner[self.sid] >= 0
        if not signed.any():
            return np.zeros(0, np.int64)
        pair = self.slot_pair[signed]
        keys, holders = np.unique(pair * n + self.tgt[signed], return_counts=True)
        source_keys = np.unique(pair * n + self.src[signed])
        sources = np.bincount(source_keys // n, minlength=self.size.size)[keys // n]
        could = sources - np.isin(keys, source_keys)
        return keys[(holders >= HOLE_FILL * could) & (holders < could)].astype(np.int64)

    def _frozen_slots(self) -> tuple[np.ndarray, np.ndarray]:
        """Per slot, whether its source / its target is frozen in its stratum (with its partner,
        where signs are kept: the layer pair, both signs): all its edges there of one sign, to /
        from every node that can hold an edge of that sign there (a source with only excitatory
        edges, to every node with an excitatory in-edge of the pair but itself; without kept
        signs, a source with an edge to every target of the stratum). A move of two rows keeps
        each row's count of each sign and only swaps entries where the rows differ, so it leaves
        such a row — and with it the other row — as it is; a triangle reversal would give it an
        edge it has. (Nodes with both signs are kept: sign re-deals may still change them.)"""
        n, n_strata = max(self.n, 1), self.size.size
        pair = self.slot_pair
        sign = self.neg.astype(np.int64) if self.signs_kept else np.zeros(self.E, np.int64)
        frozen = []
        for a, b in ((self.src, self.tgt), (self.tgt, self.src)):  # sources (out-rows), then targets
            mine = (pair * n + a) * 2 + sign  # (pair, node, sign)
            keys, inverse, degree = np.unique(mine, return_inverse=True, return_counts=True)
            other_sign = np.isin(mine ^ 1, keys)
            room_keys = np.unique((pair * 2 + sign) * n + b)  # (pair, sign, node it may reach)
            room = np.bincount(room_keys // n, minlength=2 * n_strata)[pair * 2 + sign]
            itself = np.isin((pair * 2 + sign) * n + a, room_keys)
            frozen.append(~other_sign & (degree[inverse.reshape(-1)] == room - itself))
        return frozen[0], frozen[1]

    def _layer_masks(self, raw: np.ndarray, layer: np.ndarray, W: int) -> tuple[np.ndarray, np.ndarray]:
        """Per stratum the nodes its edges may point to / come from: its target / source layer
        where the strata are layer pairs; where there is one stratum (per sign), the nodes with
        in- / out-edges of either sign, the only ones a move can give an edge to / from (with the
        chain's labels, :func:`bit_order`, the targets' mask is the first words of a row and the
        signed moves skip the rest). The signed moves rest on it: a source's edges of a stratum
        and its partner are its row masked to the stratum's target layer."""
        n_strata = max(raw.size, 1)
        every = _node_bits(np.arange(self.n), W)
        tmask = np.tile(every, (n_strata, 1))
        smask = tmask.copy()
        group = raw[self.sid] >> 1 if self.signs_kept else raw[self.sid]  # the stratum without its sign
        if not self.E or np.unique(group).size == 1:
            if self.E:
                tmask[:] = _node_bits(np.unique(self.tgt), W)
                smask[:] = _node_bits(np.unique(self.src), W)
            return tmask, smask
        layer = np.asarray(layer, dtype=np.int64)
        seen: dict[tuple[int, int], int] = {}
        for s in range(raw.size):
            tl, sl = np.unique(layer[self.tgt[self.sid == s]]), np.unique(layer[self.src[self.sid == s]])
            g = int(raw[s] >> 1 if self.signs_kept else raw[s])
            if tl.size != 1 or sl.size != 1 or seen.setdefault((int(sl[0]), int(tl[0])), g) != g:
                if self.signs_kept:
                    raise ValueError("kept-sign strata must be layer pairs (× sign) or one stratum per sign")
                return tmask, smask  # unsigned chains never use the masks
            tmask[s] = _node_bits(np.flatnonzero(layer == tl[0]), W)
            smask[s] = _node_bits(np.flatnonzero(layer == sl[0]), W)
        return tmask, smask

    def _cycles_possible(self) -> bool:
        """Whether some stratum has 3 nodes that are both a source and a target in it."""
        if self.E < 3:
            return False
        both = np.intersect1d(self.sid * self.n + self.src, self.sid * self.n + self.tgt)
        return bool(np.any(np.bincount(both // self.n) >= 3)) if both.size else False

    def _steps(self, S: int, signed: tuple | None = None) -> tuple[int, int]:
        """``(burn-in, thin)`` visits for the next draw; burns in and calibrates on first use."""
        sch = self.schedule
        if not self.burnt:
            self.burnt = True
            burn = int(round(sch.burn_in * self.E))
            if sch.thin is None:
                self.calibrate(burn, signed, S)
                burn = 0
        else:
            burn = 0
        thin = sch.thin if sch.thin is not None else self.thin
        return burn, max(1, int(round(thin * self.E)))

    def calibrate(self, burn: int, signed: tuple | None = None, samples: int = 0) -> None:
        """Burn in, then set :attr:`thin` from a pilot (see :class:`ChainSchedule`); the pilot
        counts the statistics that will be sampled (``signed``: their arguments) and grows while
        it costs less than ``pilot_share`` of drawing ``samples`` at the thinning it found."""
        step = max(1, int(round(self.schedule.pilot_lag * self.E)))

        def more(count: int) -> np.ndarray:  # the same chain, same lag; burn-in before the first
            nonlocal burn
            rows = self._pilot(burn, step, count, signed)
            burn = 0
            return rows

        series, self.thin, self.pilot_acf = pilot_thinning(self.schedule, samples, more)
        self.pilot_counts = len(series)
        self._pilot_rows, self._pilot_step = series, step

    def _move_weights(self) -> np.ndarray:
        """Per stratum, the share of the moves that pick it (up to a constant; 0 for the pairs
        with a table or a single realization). A layer-pair null is a product of independent
        uniform laws, one per pair (pairs join distinct node pairs), and a chain relaxes no
        faster than its slowest pair. A trade re-deals two rows and a two-target move two
        columns, so a pair needs moves in proportion to its rows and columns, not its edges:
        kept-sign layer-pair chains pick a stratum by its sources that can trade (two or more;
        fewer make no trade) plus its targets (the two-target moves'). Other chains pick by
        edges: unsigned layer-pair chains, where rows moved the slowest class's τ both ways
        (toy reasoner comparison-1-answer-p60 14.6 → 6.0 × E, word_problem-1-think-p67 4.6 →
        7.0; 20,000 counts), and the kept-sign ``configuration`` chain, one pair split by
        sign, where twice the work per inhibitory edge took τ 143/151 → 183/182 × E on
        word_problem-0-think-p87 and 139/159 → 160/149 on addition-1-think-p80 (200,000
        counts, two seeds) — those two graphs are its slowest."""
        free = self.ex_int[: self.size.size] == 0
        if self.signs_kept and self.pairs_distinct:
            rows = np.where(self.pick_size[0] >= 2, self.pick_size[0], 0)
            base = (rows + self.pick_size[1]).astype(np.float64)
        else:
            base = self.size.astype(np.float64)
        return np.where(free, base, 0.0)

    def _shares(self) -> np.ndarray:
        """:func:`swapchain.run_chain`'s ``shares``: the move shares, then the cumulative move weight per stratum."""
        return np.concatenate([[self.p_tri, self.p_sign, self.p_uniform, self.p_uniform_few, self.p_three, self.p_column, self.p_anchor, self.p_hole, self.p_hole_three], np.cumsum(self._move_weights())])

    def _take_pilot(self, S: int, thin: int) -> np.ndarray | None:
        """Up to ``S`` counts of the pilot just run, ``thin`` visits or more apart and ending
        with its last (the next sample is ``thin`` after it), or ``None``. They are samples of
        the same chain, after burn-in, of the statistics being drawn, so the first draw keeps
        them (62 of 1,000 samples for the kept-sign chain on the 276-edge toy think graph: 800
        pilot counts at 2 × E, thinning 24.7 × E), and the pilot's chain work is not lost.
        Taken once; later draws (and :meth:`targets`, whose statistics the pilot did not
        count) get ``None``."""
        rows, self._pilot_rows = self._pilot_rows, None
        if rows is None or S <= 0:
            return None
        every = -(-thin // self._pilot_step)  # pilot counts per sample spacing, rounded up
        return rows[np.arange(len(rows) - 1, -1, -every)[:S][::-1]]

    def _pilot(self, burn: int, step: int, count: int, signed: tuple | None) -> np.ndarray:
        """``[count, K]`` counts of the sampled statistics, one every ``step`` visits after ``burn``."""
        if signed is None:
            tally, wedges, acc = SC.sample_triads(*self._args(), burn, step, count, self.rng, self.scratch, self.ws, self.swap_only, SC._PATH_CLASS)
            series = finish_census(tally, wedges)
        else:
            series, acc = SC.sample_signed(*self._args(), burn, step, count, self.rng, self.scratch, self.ws, self.swap_only, *signed)
        self._count(acc)
        return series

    def _args(self):
        return (self.src, self.tgt, self.sid, self.off, self.size, self.run_lo, self.run_hi, self.picks, self.pick_off, self.pick_size, self.alt_lo, self.alt_hi, self.partner, self.ex_int, self.ex_bits,
                self.out_b, self.in_b, self.neg_out, self.neg_in, self.tmask, self.smask, self.sneg, self.shares)

    def run(self, n_steps: int) -> int:
        """Advance the chain by ``n_steps`` slot visits of work (no samples); returns the accepted count."""
        acc, prop = SC.run_chain(*self._args(), int(n_steps), self.rng, self.scratch, self.ws, self.swap_only)
        SC.redraw_tables(self.src, self.tgt, self.sid, self.off, self.size, self.partner, self.ex_int, self.ex_bits,
                         self.out_b, self.in_b, self.neg_out, self.neg_in, self.tmask, self.sneg, self.rng)
        SC.sync_slots(self.src, self.tgt, self.sid, self.run_hi, self.partner, self.out_b, self.neg_out, self.tmask, self.sneg, self.shares, self.scratch[4])
        self.accepted += int(acc)
        self.proposed += int(prop)
        return int(acc)

    def _count(self, acc: np.ndarray) -> None:
        self.accepted += int(acc[0])
        self.proposed += int(acc[1])

    @property
    def acceptance(self) -> float:
        """Share of proposals that changed the graph."""
        return self.accepted / self.proposed if self.proposed else float("nan")

    def triads(self, S: int) -> np.ndarray:
        """``[S, 16]`` triad census (igraph isoclass order) of the next ``S`` samples."""
        if self.E == 0:
            return np.zeros((S, L.N_TRIADS), np.int64)
        burn, thin = self._steps(S)
        kept = self._take_pilot(S, thin)
        rest = S - (0 if kept is None else len(kept))
        tally, wedges, acc = SC.sample_triads(*self._args(), burn, thin, rest, self.rng, self.scratch, self.ws, self.swap_only, SC._PATH_CLASS)
        self._count(acc)
        drawn = finish_census(tally, wedges)
        return drawn if kept is None else np.concatenate([kept, drawn])

    def signed(self, S: int, layer: np.ndarray, gaps: GapLimits, shuffle: bool) -> np.ndarray:
        """``[S, SIGNED_MOTIFS]`` of the next ``S`` samples (``shuffle``: permute signs per sample)."""
        if self.E == 0:
            return np.zeros((S, len(SIGNED_MOTIFS)), np.int64)
        if not shuffle and not self.signs_kept:
            raise ValueError("signs can only be kept by a chain whose strata are split by sign (sign_pairs=True)")
        lo, hi = _gap_bounds(gaps)
        extra = (self.neg, bool(shuffle), np.ascontiguousarray(np.asarray(layer, dtype=np.int64)[self.node_of]), lo, hi)
        burn, thin = self._steps(S, extra)
        kept = self._take_pilot(S, thin)
        rest = S - (0 if kept is None else len(kept))
        raw, acc = SC.sample_signed(*self._args(), burn, thin, rest, self.rng, self.scratch, self.ws, self.swap_only, *extra)
        self._count(acc)
        return finish_signed(raw if kept is None else np.concatenate([kept, raw]))

    def targets(self, S: int) -> np.ndarray:
        """``[S, E]`` targets (nodes) of the slots (sources: :attr:`sources`) of the next ``S`` samples."""
        if self.E == 0:
            return np.zeros((S, 0), np.int64)
        burn, thin = self._steps(S)
        self._take_pilot(0, thin)  # a pilot counts triads, not edge lists: nothing to keep
        out, acc = SC.sample_targets(*self._args(), burn, thin, S, self.rng, self.scratch, self.ws, self.swap_only)
        self._count(acc)
        return self.node_of[out]


def bit_order(edges: EdgeSet) -> np.ndarray:
    """The chain's node labels: ``bit_order(edges)[i]`` is the node with label ``i``. Nodes
    with in-edges only come first, then those with in- and out-edges, then sources only, then
    isolated nodes (each group in node order). Why: out-rows then hold their bits in the first
    words and in-rows in the last, so on graphs of 65–128 nodes whose targets number ≤ 64 a
    source's row is one word, not two (a pruned graph's targets are a few features and logits;
    its errors and embeddings are sources). Triad and signed counts do not depend on labels."""
    has_in = np.bincount(edges.dst, minlength=edges.n) > 0
    has_out = np.bincount(edges.src, minlength=edges.n) > 0
    group = np.where(has_in, np.where(has_out, 1, 0), np.where(has_out, 2, 3))
    return np.argsort(group, kind="stable").astype(np.int64)


def _node_bits(nodes: np.ndarray, W: int) -> np.ndarray:
    """A bit row (``W`` words) with the bits of ``nodes`` set."""
    row = np.zeros(W, np.uint64)
    np.bitwise_or.at(row, nodes >> 6, np.left_shift(np.uint64(1), (nodes & 63).astype(np.uint64)))
    return row


def census_of_edge_lists(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """``[S, 16]`` exact census of ``S`` simple digraphs given as ``[S, E]`` edge arrays."""
    src = np.ascontiguousarray(np.atleast_2d(src), dtype=np.int64)
    dst = np.ascontiguousarray(np.broadcast_to(dst, src.shape), dtype=np.int64)
    if src.shape[1] == 0:
        return np.zeros((src.shape[0], L.N_TRIADS), np.int64)
    tally, wedges = SC.census_edge_lists(src, dst, int(n), SC._PATH_CLASS)
    return finish_census(tally, wedges)


def signed_of_edge_lists(src: np.ndarray, dst: np.ndarray, neg: np.ndarray, n: int, layer: np.ndarray, gaps: GapLimits = GapLimits()) -> np.ndarray:
    """``[S, SIGNED_MOTIFS]`` of ``S`` signed simple digraphs given as ``[S, E]`` arrays."""
    src = np.ascontiguousarray(np.atleast_2d(src), dtype=np.int64)
    dst = np.ascontiguousarray(np.broadcast_to(dst, src.shape), dtype=np.int64)
    neg = np.ascontiguousarray(np.broadcast_to(neg, src.shape), dtype=np.bool_)
    lo, hi = _gap_bounds(gaps)
    return finish_signed(SC.signed_edge_lists(src, dst, neg, int(n), np.ascontiguousarray(layer, dtype=np.int64), lo, hi))


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

    @property
    def size(self) -> int:
        return self.src.shape[0]

    def triad_census(self, bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> np.ndarray:
        return census_of_edge_lists(self.src, self.dst, self.n)


class NullModel:
    """One null model bound to a real graph.

    :meth:`triad_counts` / :meth:`signed_counts` count the samples inside the compiled chain
    (the fast path); :meth:`batches` yields the sampled edge lists themselves (size-4 census,
    tests). Each call starts a fresh chain from the real graph, seeded by ``rng``.
    """

    def __init__(self, edges: EdgeSet, model: str = "configuration", sign_mode: str = "keep", signed: bool = False, schedule: ChainSchedule = ChainSchedule()):
        if model not in NULL_MODELS:
            raise ValueError(f"null model must be one of {NULL_MODELS}, got {model!r}")
        if sign_mode not in SIGN_MODES:
            raise ValueError(f"sign_mode must be one of {SIGN_MODES}, got {sign_mode!r}")
        self.edges, self.model, self.sign_mode, self.signed, self.schedule = edges, model, sign_mode, signed, schedule
        self.keep_sign = signed and sign_mode == "keep"
        self.strata: np.ndarray | None = None
        self.last_chain: SwapChain | None = None
        if model in ("configuration", "layer_configuration"):
            strata = layer_pair_ids(edges) if model == "layer_configuration" else np.zeros(edges.m, np.int64)
            self.strata = strata * 2 + edges.neg if self.keep_sign else strata
        else:
            self._setup_er(self.keep_sign)

    # ---- degree-preserving models ---------------------------------------------------------
    def chain(self, rng: np.random.Generator) -> SwapChain:
        """A fresh swap chain from the real graph (configuration models only)."""
        if self.strata is None:
            raise ValueError(f"{self.model} is not a degree-preserving null")
        self.last_chain = SwapChain(self.edges, self.strata, rng, self.schedule, sign_pairs=self.keep_sign)
        return self.last_chain

    def _log(self, ch: SwapChain, S: int) -> None:
        log.info("%s null: %d samples from one chain (E=%d, burn-in %g×E, thin %.1f×E from pilot autocorrelation %.2f at lag E, triangle moves %s, signed trades %s, "
                 "%d layer pairs redrawn exactly per sample, %d with one realization left alone), acceptance %.3f, fallback 0",
                 self.model, S, ch.E, self.schedule.burn_in, ch.thin or 0.0, ch.pilot_acf, "on" if ch.p_tri else "off", "on" if ch.p_sign else "off", ch.tabled_pairs, ch.fixed_pairs, ch.acceptance)

    def triad_counts(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``[n_samples, 16]`` triad census of the ensemble."""
        if self.strata is not None:
            ch = self.chain(rng)
            out = ch.triads(n_samples)
            self._log(ch, n_samples)
            return out
        return np.concatenate([b.triad_census() for b in self.batches(n_samples, rng)])

    def signed_counts(self, n_samples: int, rng: np.random.Generator, gaps: GapLimits = GapLimits()) -> np.ndarray:
        """``[n_samples, SIGNED_MOTIFS]`` signed counts of the ensemble (signs per ``sign_mode``)."""
        e = self.edges
        if self.strata is not None:
            ch = self.chain(rng)
            out = ch.signed(n_samples, e.layer, gaps, shuffle=not self.keep_sign)
            self._log(ch, n_samples)
            return out
        return np.concatenate([signed_of_edge_lists(b.src, b.dst, b.neg, e.n, e.layer, gaps) for b in self.batches(n_samples, rng)])

    # ---- ER models --------------------------------------------------------------------------
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

    # ---- edge lists ---------------------------------------------------------------------------
    def batches(self, n_samples: int, rng: np.random.Generator, chunk: int | None = None, bitmap_bytes: int = DEFAULT_BITMAP_BYTES) -> Iterator[NullBatch]:
        """Yield ``n_samples`` null graphs as edge arrays in chunks (one chain across chunks)."""
        e = self.edges
        chunk = chunk or max(1, min(256, (8 << 20) // max(8 * e.m, 1)))
        ch = self.chain(rng) if self.strata is not None else None
        done = 0
        while done < n_samples:
            S = min(chunk, n_samples - done)
            neg = None
            if ch is not None:
                dst = ch.targets(S)
                src = np.broadcast_to(ch.sources, (S, e.m))
                if self.signed:
                    neg = np.broadcast_to(ch.neg, (S, e.m)) if self.keep_sign else e.neg[_within_blocks_permutation(rng, S, np.zeros(e.m, np.int64))]
            else:
                src, dst = self._er_sample(rng, S)
                if self.signed:
                    neg = self.er_neg[_within_blocks_permutation(rng, S, self.sign_groups)]
            yield NullBatch(src, dst, neg, e.n)
            done += S
        if ch is not None:
            self._log(ch, n_samples)
