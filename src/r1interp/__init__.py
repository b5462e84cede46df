"""r1interp: circuit analysis for reasoning-distilled language models.

One subpackage per workflow stage (``data``, ``toy``, ``transcoders``, ``features``,
``autointerp``, ``graphs``, ``motifs``, ``compare``, ``heads``, ``report``); the Snakemake
rules in ``rules/<stage>.smk`` stay thin and call into them.
"""

__version__ = "0.1.0"
