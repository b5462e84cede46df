"""Cross-model and cross-condition comparisons of motif profiles.

- :mod:`.stats` — paired Wilcoxon / Mann–Whitney / Kruskal–Wallis per motif, Benjamini–Hochberg.
- :mod:`.profiles` — per-category task profiles, cosine similarity, average-linkage clustering.
- :mod:`.plots` — heatmaps, SP profiles, similarity + dendrogram, FFL cascade drawing.
- :mod:`.pipeline` — the stage: reasoner vs base, think vs answer, correct vs incorrect,
  categories, external graph collections, ``analysis_summary.json``.
"""

from r1interp.compare.pipeline import CompareConfig, CompareConfigError, Source, load_source, run_compare
from r1interp.compare.profiles import average_linkage, category_profiles, cosine_matrix
from r1interp.compare.stats import benjamini_hochberg, mannwhitney, paired_motif_tests, wilcoxon_paired

__all__ = [
    "CompareConfig", "CompareConfigError", "Source", "average_linkage", "benjamini_hochberg", "category_profiles",
    "cosine_matrix", "load_source", "mannwhitney", "paired_motif_tests", "run_compare", "wilcoxon_paired",
]
