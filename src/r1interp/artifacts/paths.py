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
    """One model's artifacts under ``results``."""

    results: Path
    model: str

    def __init__(self, results: str | Path, model: str):
        object.__setattr__(self, "results", Path(results))
        object.__setattr__(self, "model", model)

    @property
    def root(self) -> Path:
        return self.results / self.model

    # data
    def shard(self, split: str) -> Path:
        return self.root / "data" / f"{split}.parquet"

    @property
    def token_map(self) -> Path:
        return self.root / "data" / "tokenmap.json"

    # prompts
    @property
    def generations(self) -> Path:
        return self.root / "generations.parquet"

    @property
    def correctness(self) -> Path:
        return self.root / "correctness.parquet"

    # transcoders
    @property
    def transcoders(self) -> Path:
        return self.root / "transcoders"

    def transcoder(self, layer: int) -> Path:
        return layer_dir(self.transcoders, layer)

    @property
    def circuit_tracer(self) -> Path:
        return self.transcoders / "circuit_tracer"

    @property
    def card(self) -> Path:
        return self.transcoders / "README.md"

    # evaluate
    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def eval_layer(self, layer: int) -> Path:
        return layer_file(self.eval_dir, layer, ".json")

    @property
    def eval_layers(self) -> Path:
        return self.eval_dir / "layers.parquet"

    @property
    def eval_full(self) -> Path:
        return self.eval_dir / "full.json"

    # features
    @property
    def features(self) -> Path:
        return self.root / "features"

    @property
    def feature_summary(self) -> Path:
        return self.features / "summary.json"

    # labels
    @property
    def labels(self) -> Path:
        return self.root / "labels"

    def labels_layer(self, layer: int) -> Path:
        return layer_file(self.labels, layer, ".json")

    @property
    def labels_db(self) -> Path:
        return self.root / "labels.sqlite"

    # graphs
    @property
    def graphs(self) -> Path:
        return self.root / "graphs"

    @property
    def graph_plan(self) -> Path:
        return self.graphs / "plan.parquet"

    @property
    def graph_metadata(self) -> Path:
        return self.graphs / "graph-metadata.json"

    @property
    def graph_index(self) -> Path:
        return self.graphs / "index.parquet"

    @property
    def graph_scores(self) -> Path:
        return self.graphs / "scores.parquet"

    # motifs, heads, patching
    @property
    def motifs(self) -> Path:
        return self.root / "motifs"

    @property
    def heads(self) -> Path:
        return self.root / "heads"

    @property
    def patching(self) -> Path:
        return self.root / "patching"
