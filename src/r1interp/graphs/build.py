"""Attribution graphs for one prompt's generation: phases → ``attribute`` → prune → JSON + scores.

Why per prompt: one graph is one expensive job (a forward pass expanded to ``batch_size`` and
``max_feature_nodes / batch_size`` backward passes), so the rule fans out per ``{model}/{prompt}``
and a failed prompt reruns alone. Each job writes its graphs and a ``manifest.json`` (one record
per graph) into its own directory; ``finalize`` gathers them, so parallel jobs never write the
same file (circuit-tracer's ``add_graph_metadata`` would race on ``graph-metadata.json``).

Inputs are the chat-templated token ids of the generations table, never strings: a string prompt
gets an extra start token and no chat template in circuit-tracer. circuit-tracer zeroes position
0 (features and errors), which is the template's BOS token here.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from r1interp.prompts.generate import read_generations
from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import graph_summary, graph_to_model
from r1interp.graphs.phases import PhasePosition, check_context, graph_id, phase_positions
from r1interp.utils import atomic_path

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
GENERATION_COLUMNS = (
    "prompt_id", "category", "needs_reasoning", "prompt_ids", "output_ids", "segment", "think_start", "think_end", "correct",
)


@dataclass(frozen=True)
class Generation:
    """One row of ``generations.parquet`` (the fields the graphs need)."""

    prompt_id: str
    category: str
    needs_reasoning: bool
    correct: bool
    prompt_ids: list[int]
    output_ids: list[int]
    segment: list[int]
    think_start: int
    think_end: int

    @property
    def ids(self) -> list[int]:
        return self.prompt_ids + self.output_ids


@dataclass
class GraphRecord:
    """One graph: ids, where it sits, and its sizes and scores (a row of scores.parquet)."""

    graph_id: str
    prompt_id: str
    category: str
    phase: str
    correct: bool
    needs_reasoning: bool
    position: int  # index of the explained token in prompt+output; the graph input is ids[:position]
    n_prompt_tokens: int
    n_input_tokens: int  # tokens the graph was computed on (== position)
    target_token_id: int  # the model's greedy token at `position` (-1 past the end of the output)
    target_token: str
    top_logit_token_id: int  # argmax of the replacement model's logits (should equal the greedy token)
    n_active_features: int
    n_feature_nodes: int = 0
    n_error_nodes: int = 0
    n_token_nodes: int = 0
    n_logit_nodes: int = 0
    n_edges: int = 0
    replacement_score: float = float("nan")
    completeness_score: float = float("nan")
    layers_with_features: list[int] = field(default_factory=list)
    file: str = ""
    seconds: float = 0.0
    peak_rss_mb: float = 0.0  # process peak so far (host memory)
    peak_gpu_mb: float = 0.0  # this graph's peak CUDA memory (0 on CPU)


def read_generation(path: str | Path, prompt_id: str) -> Generation:
    """The generations row of ``prompt_id``; fails naming the file, column or prompt."""
    path = Path(path)
    df = read_generations(path, GENERATION_COLUMNS)
    rows = df[df["prompt_id"] == prompt_id]
    if len(rows) != 1:
        raise ValueError(f"{path}: prompt_id {prompt_id!r} found {len(rows)} times (known: {sorted(df['prompt_id'])[:10]}...)")
    r = rows.iloc[0]
    gen = Generation(
        prompt_id=str(r["prompt_id"]), category=str(r["category"]), needs_reasoning=bool(r["needs_reasoning"]),
        correct=bool(r["correct"]), prompt_ids=[int(t) for t in r["prompt_ids"]], output_ids=[int(t) for t in r["output_ids"]],
        segment=[int(s) for s in r["segment"]], think_start=int(r["think_start"]), think_end=int(r["think_end"]),
    )
    if len(gen.segment) != len(gen.ids):
        raise ValueError(f"{path}: prompt {prompt_id!r} has {len(gen.segment)} segment codes for {len(gen.ids)} tokens")
    return gen


def blank_token_ids(tokenizer, ids: Sequence[int]) -> set[int]:
    """Tokens among ``ids`` that decode to whitespace only (skipped when finding the answer start)."""
    return {t for t in set(ids) if tokenizer.decode([t]).strip() == ""}


def plan_phases(gen: Generation, cfg: GraphsConfig, blank_ids: set[int]) -> list[PhasePosition]:
    """Phase positions of one generation, checked against ``max_context`` (raises naming the prompt)."""
    positions = phase_positions(
        gen.ids, len(gen.prompt_ids), gen.segment, gen.think_start, gen.think_end, gen.needs_reasoning,
        blank_ids=blank_ids, think_fraction=cfg.think_fraction,
    )
    check_context(gen.prompt_id, len(gen.prompt_ids), len(gen.ids), positions, cfg.max_context)
    return positions


def attribute_graph(model, input_ids: Sequence[int], cfg: GraphsConfig):
    """circuit-tracer's dense attribution graph for the logits after ``input_ids``."""
    from circuit_tracer import attribute

    ids = torch.tensor(list(input_ids), dtype=torch.long, device=model.cfg.device)
    if int(ids[0]) not in model.tokenizer.all_special_ids:
        log.warning("input does not start with a special token; circuit-tracer prepends one (positions shift by 1)")
    return attribute(
        ids, model, max_n_logits=cfg.max_n_logits, desired_logit_prob=cfg.desired_logit_prob, batch_size=cfg.batch_size,
        max_feature_nodes=cfg.max_feature_nodes, offload=None,  # see GraphsConfig: unsafe with skip transcoders
        update_interval=cfg.update_interval, verbose=log.isEnabledFor(logging.DEBUG),
    )


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def build_graph(model, tokenizer, gen: Generation, pos: PhasePosition, cfg: GraphsConfig, scan: str) -> tuple[GraphRecord, dict[str, Any]]:
    """One graph: attribute, scores on the dense graph, prune + JSON; returns (record, graph JSON)."""
    from circuit_tracer.graph import compute_graph_scores

    t0 = time.time()
    cuda = torch.cuda.is_available() and torch.device(model.cfg.device).type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    ids = gen.ids
    gid = graph_id(gen.prompt_id, pos.phase)
    graph = attribute_graph(model, ids[: pos.position], cfg)
    if len(graph.input_tokens) != pos.position:
        raise RuntimeError(f"{gid}: circuit-tracer used {len(graph.input_tokens)} tokens, expected {pos.position}")
    replacement, completeness = compute_graph_scores(graph)
    top_logit = int(graph.logit_targets[0].vocab_idx) if graph.logit_targets else -1
    target = ids[pos.position] if pos.position < len(ids) else -1
    n_active = int(graph.active_features.shape[0])
    data = json.loads(graph_to_model(graph, tokenizer, gid, scan, cfg.node_threshold, cfg.edge_threshold).model_dump_json())
    summary = graph_summary(data)
    rec = GraphRecord(
        graph_id=gid, prompt_id=gen.prompt_id, category=gen.category, phase=pos.phase, correct=gen.correct,
        needs_reasoning=gen.needs_reasoning, position=pos.position, n_prompt_tokens=len(gen.prompt_ids),
        n_input_tokens=len(graph.input_tokens), target_token_id=target,
        target_token=tokenizer.decode([target]) if target >= 0 else "", top_logit_token_id=top_logit,
        n_active_features=n_active, replacement_score=float(replacement), completeness_score=float(completeness),
        file=f"{gid}.json", seconds=round(time.time() - t0, 3), peak_rss_mb=round(peak_rss_mb(), 1),
        peak_gpu_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else 0.0, **summary,
    )
    log.info("%s: %d input tokens, %d active features → %d feature / %d error nodes in %d layers, %d edges; "
             "replacement %.3f completeness %.3f; %.1fs", gid, rec.n_input_tokens, n_active, rec.n_feature_nodes,
             rec.n_error_nodes, len(rec.layers_with_features), rec.n_edges, replacement, completeness, rec.seconds)
    if target >= 0 and top_logit != target:
        log.warning("%s: top logit %d differs from the greedy generation's token %d", gid, top_logit, target)
    return rec, data


def write_json(obj: Any, path: str | Path, indent: int | None = None) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent))


def build_prompt(model, tokenizer, gen: Generation, positions: Sequence[PhasePosition], cfg: GraphsConfig,
                 out_dir: str | Path, scan: str) -> list[GraphRecord]:
    """All graphs of one prompt into ``out_dir`` (``{graph_id}.json`` + ``manifest.json``, written last)."""
    out_dir = Path(out_dir)
    records = []
    for pos in positions:
        rec, data = build_graph(model, tokenizer, gen, pos, cfg, scan)
        write_json(data, out_dir / rec.file)
        records.append(rec)
    write_json({"prompt_id": gen.prompt_id, "config": cfg.to_dict(), "graphs": [asdict(r) for r in records]},
               out_dir / MANIFEST, indent=2)
    return records


def read_manifest(build_dir: str | Path) -> list[dict[str, Any]]:
    path = Path(build_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"graph build manifest not found: {path}")
    return json.loads(path.read_text())["graphs"]
