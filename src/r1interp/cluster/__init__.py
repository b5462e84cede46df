"""Cluster execution helpers: per-rule-class resources for SLURM and GPU pinning on one box.

- :mod:`r1interp.cluster.resources` turns config.yaml's ``resources:`` section into the resources
  a Snakemake rule requests (``gpu``, ``gpu_model``, ``mem_mb``, ``runtime``, ``cpus_per_gpu``,
  ``slurm_partition``, ``slurm_account``), scaled by the retry attempt.
- :mod:`r1interp.cluster.gpu_pin` gives each GPU job on a multi-GPU machine its own device
  (``python -m r1interp.cluster pin -- <command>``).
"""

from r1interp.cluster.resources import (
    RULE_CLASSES,
    ResourceSettings,
    rule_resources,
    snakemake_resources,
)

__all__ = ["RULE_CLASSES", "ResourceSettings", "rule_resources", "snakemake_resources"]
