"""Upload attribution graphs to Neuronpedia through the ``neuronpedia`` package's graph API.

A graph is identified on Neuronpedia by (model id, slug); one that already exists is not sent
again. The API key comes from ``NEURONPEDIA_API_KEY`` only (read by the package) and is never
logged. ``base_url`` points the client at another server (e.g. a self-hosted Neuronpedia).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from r1interp.artifacts.graphs import graph_files, read_graph

log = logging.getLogger(__name__)


@dataclass
class GraphUploadResult:
    uploaded: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def for_neuronpedia(graph: dict, model_id: str) -> str:
    """The graph JSON with ``metadata.scan`` set to the Neuronpedia model id (ours points at local files)."""
    out = dict(graph)
    out["metadata"] = {**graph["metadata"], "scan": model_id}
    return json.dumps(out)


def upload_graphs(release_dir: str | Path, model_id: str, *, base_url: str | None = None) -> GraphUploadResult:
    """Upload each graph not yet on the server; one failing graph is recorded and the rest continue."""
    import requests
    from neuronpedia.requests.graph_request import GraphRequest

    req = GraphRequest()  # raises NPKeyMissingError without NEURONPEDIA_API_KEY
    if base_url:
        req.BASE_URL = base_url.rstrip("/") + "/api"
    result = GraphUploadResult()
    for path in graph_files(Path(release_dir) / "graphs"):
        graph = read_graph(path)
        slug = graph["metadata"]["slug"]
        try:
            req.get(model_id, slug)
            result.existing.append(slug)
            continue
        except requests.exceptions.HTTPError as e:
            if "not found" not in str(e).lower():
                result.failed[slug] = str(e)
                continue
        try:
            req.upload(for_neuronpedia(graph, model_id))
            result.uploaded.append(slug)
        except Exception as e:  # noqa: BLE001 - one bad graph must not stop the others
            log.error("graph %s: upload failed: %s", slug, e)
            result.failed[slug] = str(e)
    log.info("neuronpedia %s: %d uploaded, %d already there, %d failed",
             model_id, len(result.uploaded), len(result.existing), len(result.failed))
    return result
