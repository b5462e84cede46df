"""Model diff by layer: residual-stream distance between a reasoner and its base, and the
overlap of their transcoder dictionaries (shared vs model-specific features)."""

from r1interp.modeldiff.dictionary import best_matches, match_table, summarise_matches
from r1interp.modeldiff.residual import DiffAccumulator, token_diff_stats

__all__ = ["DiffAccumulator", "best_matches", "match_table", "summarise_matches", "token_diff_stats"]
