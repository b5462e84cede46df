"""Network-motif analysis of attribution graphs (circuit-motifs compatible, faster, corrected).

- :mod:`.loader` — graph JSON → igraph (circuit-motifs semantics; absolute/relative/top-k thresholds).
- :mod:`.labels` — the 16 triad classes in igraph order with standard (networkx) names.
- :mod:`.census` — exact size-3 census (DAG closed form, general closed form, igraph) and size 4.
- :mod:`.nulls` — seeded, batched null ensembles (configuration, layer-pair configuration, ER, layer ER; signed).
- :mod:`.stats` — Z-scores and significance profiles.
- :mod:`.signed` — FFL sign types (Alon), circuit-motifs' strict templates, chains, cross-chain inhibition.
- :mod:`.instances` — FFL instances with roles from their own edges, stage tiers, cascades.
- :mod:`.profile` — per-graph analysis and the stage's tables; :mod:`.synthetic` — test graphs.
"""

from r1interp.artifacts.motif_labels import CIRCUIT_MOTIFS_TRIAD_LABELS, TRIAD_LABELS
from r1interp.artifacts.motifs import tier_names
from r1interp.motifs.census import census_dag, census_igraph, census_size4, triad_census
from r1interp.motifs.config import MotifsConfig, MotifsConfigError
from r1interp.motifs.edges import EdgeSet
from r1interp.motifs.instances import ffl_cascades, ffl_instances, stage_tier
from r1interp.motifs.loader import GraphFormatError, Threshold, load_attribution_graph, parse_attribution_graph
from r1interp.motifs.nulls import NULL_MODELS, NullModel
from r1interp.motifs.profile import analyse_graph
from r1interp.motifs.signed import ALL_SIGNED, SIGNED_MOTIFS, GapLimits, signed_counts
from r1interp.motifs.stats import significance_profile, zscores

__all__ = [
    "ALL_SIGNED", "CIRCUIT_MOTIFS_TRIAD_LABELS", "EdgeSet", "GapLimits", "GraphFormatError", "MotifsConfig",
    "MotifsConfigError", "NULL_MODELS", "NullModel", "SIGNED_MOTIFS", "TRIAD_LABELS", "Threshold", "analyse_graph",
    "census_dag", "census_igraph", "census_size4", "ffl_cascades", "ffl_instances", "load_attribution_graph",
    "parse_attribution_graph", "signed_counts", "significance_profile", "stage_tier", "tier_names", "triad_census", "zscores",
]
