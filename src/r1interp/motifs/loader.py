"""Load circuit-tracer / Neuronpedia attribution-graph JSON into a directed igraph graph.

Semantics follow circuit-motifs (so results are comparable): nodes of excluded types (by default
``mlp reconstruction error``) are dropped with their links; layer ``"E"`` (embeddings) → −1; links
kept when ``|w|`` passes the threshold; edge attributes ``weight = |w|``, ``raw_weight = w`` and
``sign`` (``"excitatory"`` if ``w >= 0`` else ``"inhibitory"``).

What we add, and why:

* **relative thresholds** (a fraction of the graph's max ``|w|``, or the top-k edges): attribution
  weight scales differ between models, so one absolute cut across models compares different
  things (a known circuit-motifs fault);
* a malformed file raises :class:`GraphFormatError` naming the file and the offending item,
  instead of a bare ``KeyError`` deep inside;
* optional fields (``activation``, ``influence``, ``clerp``, ``ctx_idx`` ...) may be missing, as in
  Anthropic's published graphs; ``qParams`` is ignored whatever it holds;
* the result is always a *simple* digraph (self-loops dropped, repeated links merged keeping the
  largest ``|w|``, with a warning), because the triad census is defined on simple graphs.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import igraph as ig
import numpy as np

log = logging.getLogger(__name__)

FEATURE_TYPE_TRANSCODER = "cross layer transcoder"
FEATURE_TYPE_ERROR = "mlp reconstruction error"
FEATURE_TYPE_EMBEDDING = "embedding"
FEATURE_TYPE_LOGIT = "logit"
DEFAULT_EXCLUDE_TYPES = frozenset({FEATURE_TYPE_ERROR})
THRESHOLD_MODES = ("absolute", "relative", "top_k")


class GraphFormatError(ValueError):
    """A graph file is not valid attribution-graph JSON; the message names the file and the item."""


@dataclass(frozen=True)
class Threshold:
    """Which links to keep.

    ``absolute``: ``|w| >= value`` (circuit-motifs' ``weight_threshold``); ``relative``:
    ``|w| >= value * max|w|`` over the links between kept nodes; ``top_k``: the ``int(value)``
    largest ``|w|`` (ties broken by file order).
    """

    mode: str = "relative"
    value: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in THRESHOLD_MODES:
            raise ValueError(f"threshold.mode: {self.mode!r} is not one of {THRESHOLD_MODES}")
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"threshold.value: must be a finite number >= 0, got {self.value!r}")
        if self.mode == "relative" and self.value > 1:
            raise ValueError(f"threshold.value: a relative threshold is a fraction in [0, 1], got {self.value}")

    def keep_mask(self, abs_w: np.ndarray) -> np.ndarray:
        if self.mode == "absolute":
            return abs_w >= self.value
        if self.mode == "relative":
            top = float(abs_w.max()) if abs_w.size else 0.0
            return abs_w >= self.value * top
        k = int(self.value)
        keep = np.zeros(abs_w.size, dtype=bool)
        keep[np.argsort(-abs_w, kind="stable")[:k]] = True
        return keep


def parse_layer(value: Any) -> int:
    """``"E"`` → −1, ints and integer strings as is; anything else → −2 (circuit-motifs' 'unknown')."""
    if isinstance(value, bool):
        return -2
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        if value.strip().upper() == "E":
            return -1
        try:
            return int(value)
        except ValueError:
            return -2
    return -2


def load_attribution_graph(
    path: str | Path,
    threshold: Threshold | float = 0.0,
    exclude_node_types: Iterable[str] | None = DEFAULT_EXCLUDE_TYPES,
    include_metadata: bool = True,
) -> ig.Graph:
    """Read one graph JSON file (see module docstring); a float ``threshold`` is absolute."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise GraphFormatError(f"{path}: file not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GraphFormatError(f"{path}: not valid JSON ({e})") from None
    return parse_attribution_graph(data, threshold, exclude_node_types, include_metadata, source=str(path))


def _fail(source: str, what: str) -> GraphFormatError:
    return GraphFormatError(f"{source}: {what}")


def _number(value: Any, source: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise _fail(source, f"{where} must be finite, got {value!r}")
    return float(value)


def parse_attribution_graph(
    data: Any,
    threshold: Threshold | float = 0.0,
    exclude_node_types: Iterable[str] | None = DEFAULT_EXCLUDE_TYPES,
    include_metadata: bool = True,
    source: str = "<graph>",
) -> ig.Graph:
    """Build the igraph graph from parsed JSON; ``source`` names the file in errors."""
    if not isinstance(threshold, Threshold):
        threshold = Threshold("absolute", float(threshold))
    exclude = frozenset(DEFAULT_EXCLUDE_TYPES if exclude_node_types is None else exclude_node_types)
    if not isinstance(data, Mapping):
        raise _fail(source, f"top level must be a JSON object with 'nodes' and 'links', got {type(data).__name__}")
    for key in ("nodes", "links"):
        if not isinstance(data.get(key), list):
            raise _fail(source, f"missing or non-list '{key}'")

    all_ids: set[str] = set()
    index: dict[str, int] = {}
    attrs: dict[str, list[Any]] = {k: [] for k in ("name", "layer", "ctx_idx", "feature", "feature_type", "clerp", "activation", "influence", "is_target_logit", "token_prob")}
    n_dupes = 0
    for i, node in enumerate(data["nodes"]):
        if not isinstance(node, Mapping) or "node_id" not in node:
            raise _fail(source, f"nodes[{i}] has no 'node_id'")
        node_id = str(node["node_id"])
        if "layer" not in node:
            raise _fail(source, f"nodes[{i}] ({node_id}) has no 'layer'")
        ftype = str(node.get("feature_type", FEATURE_TYPE_TRANSCODER))
        if node_id in all_ids:
            n_dupes += 1
        all_ids.add(node_id)
        if ftype in exclude or node_id in index:
            continue
        index[node_id] = len(attrs["name"])
        attrs["name"].append(node_id)
        attrs["layer"].append(parse_layer(node["layer"]))
        attrs["ctx_idx"].append(int(node.get("ctx_idx", -1)) if node.get("ctx_idx") is not None else -1)
        attrs["feature"].append(node.get("feature"))
        attrs["feature_type"].append(ftype)
        attrs["clerp"].append(node.get("clerp") or "")
        attrs["activation"].append(node.get("activation"))
        attrs["influence"].append(node.get("influence"))
        attrs["is_target_logit"].append(bool(node.get("is_target_logit", False)))
        attrs["token_prob"].append(float(node.get("token_prob") or 0.0))
    if n_dupes:
        log.warning("%s: %d repeated node ids; the first kept definition wins (links cannot tell them apart)", source, n_dupes)

    src, dst, w = [], [], []
    n_loops = 0
    for i, link in enumerate(data["links"]):
        if not isinstance(link, Mapping) or "source" not in link or "target" not in link:
            raise _fail(source, f"links[{i}] needs 'source' and 'target'")
        s, t = str(link["source"]), str(link["target"])
        for end in (s, t):
            if end not in all_ids:
                raise _fail(source, f"links[{i}] names unknown node {end!r}")
        if "weight" not in link:
            raise _fail(source, f"links[{i}] ({s} -> {t}) has no 'weight'")
        weight = _number(link["weight"], source, f"links[{i}].weight")
        if s not in index or t not in index:
            continue  # an end was excluded (error node)
        if s == t:
            n_loops += 1
            continue
        src.append(index[s])
        dst.append(index[t])
        w.append(weight)
    if n_loops:
        log.warning("%s: dropped %d self-loop links", source, n_loops)

    n = len(attrs["name"])
    src_a = np.asarray(src, dtype=np.int64)
    dst_a = np.asarray(dst, dtype=np.int64)
    w_a = np.asarray(w, dtype=np.float64)
    src_a, dst_a, w_a = _merge_repeats(src_a, dst_a, w_a, n, source)
    keep = threshold.keep_mask(np.abs(w_a))
    src_a, dst_a, w_a = src_a[keep], dst_a[keep], w_a[keep]

    g = ig.Graph(n=n, edges=np.column_stack([src_a, dst_a]).tolist(), directed=True, vertex_attrs=attrs)
    g.es["weight"] = np.abs(w_a).tolist()
    g.es["raw_weight"] = w_a.tolist()
    g.es["sign"] = np.where(w_a >= 0, "excitatory", "inhibitory").tolist()
    if include_metadata:
        meta = data.get("metadata") if isinstance(data.get("metadata"), Mapping) else {}
        g["prompt"] = meta.get("prompt", "")
        g["prompt_tokens"] = list(meta.get("prompt_tokens", []) or [])
        g["model"] = meta.get("scan", "")
        g["slug"] = meta.get("slug", "")
        g["node_threshold"] = meta.get("node_threshold")
        g["schema_version"] = meta.get("schema_version", 1)
        g["source_path"] = source
        g["threshold"] = f"{threshold.mode}:{threshold.value:g}"
    return g


def _merge_repeats(src: np.ndarray, dst: np.ndarray, w: np.ndarray, n: int, source: str):
    """Keep one link per (source, target): the one with the largest |w| (first on ties)."""
    if src.size == 0:
        return src, dst, w
    key = src * max(n, 1) + dst
    order = np.lexsort((np.arange(key.size), -np.abs(w), key))
    first = np.ones(order.size, dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    if not first.all():
        log.warning("%s: %d repeated links merged (largest |w| kept)", source, int((~first).sum()))
        keep = np.sort(order[first])
        return src[keep], dst[keep], w[keep]
    return src, dst, w


def infer_n_layers(g: ig.Graph) -> int:
    """Transformer layer count when not given: the logits' layer − 1 (circuit-tracer writes logit
    nodes at ``n_layers + 1``), else 1 + the highest non-logit layer.

    Why the logits first: a pruned graph often keeps no feature of the last layers, and a count
    read off its features would differ from graph to graph of one model — moving its logits, the
    early/middle/late bands of its FFLs and its layer gaps with whatever pruning left."""
    if g.vcount() == 0:
        return 0
    layers = np.asarray(g.vs["layer"])
    logit = np.asarray(g.vs["feature_type"]) == FEATURE_TYPE_LOGIT
    body = layers[~logit]
    from_body = int(body.max()) + 1 if body.size and body.max() >= 0 else 0
    return max(int(layers[logit].max()) - 1, from_body) if logit.any() else from_body


def effective_layers(g: ig.Graph, n_layers: int | None = None) -> np.ndarray:
    """Per-node layer for ordering and gaps: embeddings −1, features their layer, logits ``n_layers``.

    circuit-tracer stores logits at ``n_layers + 1``; placing them right above the last layer
    makes a last-layer feature → logit edge a gap of 1, as circuit-motifs intends.
    """
    layers = np.asarray(g.vs["layer"] if g.vcount() else [], dtype=np.int64).copy()
    if layers.size == 0:
        return layers
    logit = np.asarray(g.vs["feature_type"]) == FEATURE_TYPE_LOGIT
    layers[logit] = infer_n_layers(g) if n_layers is None else int(n_layers)
    return layers


def graph_summary(g: ig.Graph) -> dict[str, Any]:
    """Sizes and node-type counts, for logs and the analysis summary."""
    n, m = g.vcount(), g.ecount()
    types: dict[str, int] = {}
    for t in g.vs["feature_type"] if n else []:
        types[t] = types.get(t, 0) + 1
    signs = g.es["sign"] if m else []
    return {
        "n_nodes": n,
        "n_edges": m,
        "density": g.density() if n > 1 else 0.0,
        "n_inhibitory": int(sum(s == "inhibitory" for s in signs)),
        "node_type_counts": types,
        "prompt": g["prompt"] if "prompt" in g.attributes() else "",
        "model": g["model"] if "model" in g.attributes() else "",
    }
