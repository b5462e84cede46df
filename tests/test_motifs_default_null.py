"""The default triad null keeps an attribution graph a layered DAG; the configuration null does not.

Why it matters (issue: "the default triad null measures acyclicity"): a configuration null rewires
a layered DAG into graphs with cycles and mutual edges, so an FFL or chain Z-score against it mostly
says "the real graph is a DAG". The layer-preserving null keeps every edge going forward in layers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from r1interp.artifacts import motif_labels as L
from r1interp.motifs.config import MotifsConfig
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.profile import null_triad_counts

REPO = Path(__file__).resolve().parents[1]
DAG_CLASSES = {L.TRIAD_LABELS.index(x) for x in ("003", "012", "021U", "021C", "021D", "030T")}


def layered_dag(n_layers=5, per_layer=8, p=0.35, seed=0) -> EdgeSet:
    rng = np.random.default_rng(seed)
    layer = np.repeat(np.arange(n_layers), per_layer)
    src, dst = [], []
    for a in range(layer.size):
        for b in range(layer.size):
            if layer[b] > layer[a] and rng.random() < p / (layer[b] - layer[a]):
                src.append(a)
                dst.append(b)
    return EdgeSet.from_arrays(layer.size, src, dst, layer=layer)


def test_default_triad_null_is_layer_preserving():
    assert MotifsConfig().triad_null.model == "layer_configuration"
    section = yaml.safe_load((REPO / "config.yaml").read_text())["motifs"]
    assert MotifsConfig.from_dict(section).triad_null.model == "layer_configuration"


def test_configuration_null_measures_acyclicity_and_layer_null_does_not():
    edges = layered_dag()
    rng = np.random.default_rng(0)
    non_dag = [i for i in range(L.N_TRIADS) if i not in DAG_CLASSES]
    conf = null_triad_counts(edges, "configuration", 40, rng, 1 << 20)
    layered = null_triad_counts(edges, "layer_configuration", 40, rng, 1 << 20)
    # the configuration ensemble is full of triads a DAG cannot have (cycles, mutual edges) ...
    assert conf[:, non_dag].sum(axis=1).min() > 0
    # ... the layer-preserving one has none: every null graph is a layered DAG like the real one
    assert layered[:, non_dag].sum() == 0
