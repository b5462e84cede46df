"""Settings of the graphs stage (the ``graphs:`` section of config.yaml).

Why a dataclass: the CLI, the Snakemake rule and the tests share one typed place for defaults;
``schemas/stages/graphs.schema.yaml`` carries the same keys and defaults for config validation.

No ``offload`` setting, on purpose: circuit-tracer 0.5.0 offloads the transcoders right after
``setup_attribution``, before the forward pass whose skip-connection hooks still use ``W_skip``.
With ``disk`` the weights are then meta tensors and ``x @ W_skip.T`` silently returns garbage
(adjacency entries ~1e14 on the toy); with ``cpu`` a GPU run fails on mixed devices. For memory,
use ``lazy_decoder`` (exact: same graph), ``dtype`` and ``batch_size``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

DTYPE_CHOICES = ("float32", "bfloat16", "float16")
LOGIT_TARGETS = ("planned", "salient")


@dataclass(frozen=True)
class GraphsConfig:
    node_threshold: float = 0.8
    """Keep nodes carrying this fraction of cumulative influence on the logits (circuit-tracer)."""
    edge_threshold: float = 0.98
    """Keep edges carrying this fraction of cumulative influence (circuit-tracer)."""
    max_feature_nodes: int = 512
    """Feature nodes attributed per graph (rows of the dense adjacency); bounds time and memory."""
    logit_targets: str = "planned"
    """What a graph explains: ``planned`` — the logit of the token at its planned position, the
    same objective for the reasoner and its teacher-forced base (whose own likeliest tokens often
    differ); ``salient`` — circuit-tracer's choice of the model's likeliest next tokens
    (``max_n_logits``, ``desired_logit_prob``), for exploration."""
    max_n_logits: int = 10
    """Most logit targets per graph (``logit_targets: salient``)."""
    desired_logit_prob: float = 0.95
    """Logit targets are added until their cumulative probability reaches this (``logit_targets: salient``)."""
    batch_size: int = 64
    """Source nodes per backward pass; the forward is expanded to this batch (memory ∝ it)."""
    max_context: int = 512
    """Longest graph input in tokens; longer inputs fail before the model is loaded."""
    dtype: str = "float32"
    """Replacement-model dtype (model and transcoders)."""
    lazy_decoder: bool = False
    """Read decoder rows from ``sae.safetensors`` on demand instead of holding W_dec in memory."""
    update_interval: int = 4
    """Batches between re-rankings of the feature queue (circuit-tracer ``update_interval``)."""
    think_rules: tuple[str, ...] = ("result", "step")
    """How think-graph positions are chosen, in priority order: ``result`` (first token of a number
    written after ``=``), ``step`` (first token of a step). See :mod:`r1interp.graphs.phases`."""
    think_count: int = 2
    """Think graphs per trace (each its own graph), evenly spread over the rule's candidates."""

    def __post_init__(self) -> None:
        for name in ("node_threshold", "edge_threshold", "desired_logit_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"graphs.{name}={value} must be in [0, 1]")
        from r1interp.graphs.phases import THINK_RULES

        bad = [r for r in self.think_rules if r not in THINK_RULES]
        if bad or not self.think_rules:
            raise ValueError(f"graphs.think_rules={list(self.think_rules)}: unknown or empty; allowed: {list(THINK_RULES)}")
        object.__setattr__(self, "think_rules", tuple(self.think_rules))
        if self.think_count < 0:
            raise ValueError(f"graphs.think_count={self.think_count} must be >= 0")
        for name in ("max_feature_nodes", "max_n_logits", "batch_size", "max_context", "update_interval"):
            if getattr(self, name) < 1:
                raise ValueError(f"graphs.{name}={getattr(self, name)} must be >= 1")
        if self.logit_targets not in LOGIT_TARGETS:
            raise ValueError(f"graphs.logit_targets={self.logit_targets!r}; allowed: {list(LOGIT_TARGETS)}")
        if self.dtype not in DTYPE_CHOICES:
            raise ValueError(f"graphs.dtype={self.dtype!r}; allowed: {list(DTYPE_CHOICES)}")

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "GraphsConfig":
        """Build from a config mapping; unknown keys fail naming the key."""
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown graphs config keys {unknown}; allowed: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["think_rules"] = list(self.think_rules)
        return d
