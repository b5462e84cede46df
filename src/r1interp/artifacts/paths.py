"""Where every artifact of ``docs/architecture.md`` lives: one builder per path.

``layer_dir(root, layer)`` is the ``<root>/L{layer}`` that transcoders, evaluation, features and
labels all use; :class:`ModelPaths` spells out one model's ``results/{model}/...`` tree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def layer_name(layer: int) -> str:
    """``L{layer}``: the per-layer directory name and file stem."""
    return f"L{layer}"


def layer_dir(root: str | Path, layer: int) -> Path:
    """``<root>/L{layer}``: a per-layer transcoder checkpoint directory."""
    return Path(root) / layer_name(layer)


def layer_file(root: str | Path, layer: int, suffix: str) -> Path:
    """``<root>/L{layer}{suffix}`` (``.json``, ``.stats.parquet``, ...)."""
    return Path(root) / f"{layer_name(layer)}{suffix}"


@dataclass(frozen=True)
class ModelPaths:
    """One model's artifacts under ``results`` (build with :meth:`of`)."""

    root: Path  # results/{model}
    token_map: Path
    generations: Path
    correctness: Path
    transcoders: Path  # holds L{layer}/ (cfg.json, sae.safetensors)
    circuit_tracer: Path
    card: Path
    eval_dir: Path  # holds L{layer}.json
    eval_layers: Path
    eval_full: Path
    features: Path  # holds L{layer}.stats.parquet, L{layer}.examples.parquet
    feature_summary: Path
    labels: Path  # holds L{layer}.json
    labels_db: Path
    graphs: Path
    graph_plan: Path
    graph_metadata: Path
    graph_index: Path
    graph_scores: Path
    motifs: Path
    heads: Path
    patching: Path

    @classmethod
    def of(cls, results: str | Path, model: str) -> "ModelPaths":
        r = Path(results) / model
        tc, ev, g = r / "transcoders", r / "eval", r / "graphs"
        return cls(
            root=r, token_map=r / "data" / "tokenmap.json", generations=r / "generations.parquet",
            correctness=r / "correctness.parquet", transcoders=tc, circuit_tracer=tc / "circuit_tracer",
            card=tc / "README.md", eval_dir=ev, eval_layers=ev / "layers.parquet", eval_full=ev / "full.json",
            features=r / "features", feature_summary=r / "features" / "summary.json", labels=r / "labels",
            labels_db=r / "labels.sqlite", graphs=g, graph_plan=g / "plan.parquet", graph_metadata=g / "graph-metadata.json",
            graph_index=g / "index.parquet", graph_scores=g / "scores.parquet", motifs=r / "motifs", heads=r / "heads",
            patching=r / "patching",
        )

    def shard(self, split: str) -> Path:
        return self.root / "data" / f"{split}.parquet"

    def transcoder(self, layer: int) -> Path:
        return layer_dir(self.transcoders, layer)

    def eval_layer(self, layer: int) -> Path:
        return layer_file(self.eval_dir, layer, ".json")

    def labels_layer(self, layer: int) -> Path:
        return layer_file(self.labels, layer, ".json")
