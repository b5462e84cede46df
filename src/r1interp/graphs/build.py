"""Attribution graphs for one prompt's planned positions: ``attribute`` → prune → JSON + scores.

Why per prompt: one graph is one expensive job (a forward pass expanded to ``batch_size`` and
``max_feature_nodes / batch_size`` backward passes), so the rule fans out per ``{model}/{prompt}``
and a failed prompt reruns alone. Each job writes its graphs and a ``manifest.json`` (one record
per graph) into its own directory; ``finalize`` gathers them, so parallel jobs never write the
same file (circuit-tracer's ``add_graph_metadata`` would race on ``graph-metadata.json``).

Inputs are the chat-templated token ids of the graph plan (:mod:`.plan`), never strings: a string prompt
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

from r1interp.artifacts.write import write_json
from r1interp.graphs.config import GraphsConfig
from r1interp.graphs.export import graph_summary, graph_to_model

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class PlannedGraph:
    """One row of the graph plan (:mod:`.plan`): the sequence this model reads and where to explain it."""

    graph_id: str
    prompt_id: str
    category: str
    phase: str
    rule: str
    status: str
    correct: bool
    needs_reasoning: bool
    position: int  # index of the explained token; the graph input is input_ids[:position]
    n_prompt_tokens: int
    input_ids: list[int]
    generation: str  # whose generation the sequence is: own | teacher_forced:{reasoner}

    @classmethod
    def from_row(cls, row) -> "PlannedGraph":
        return cls(
            graph_id=str(row["graph_id"]), prompt_id=str(row["prompt_id"]), category=str(row["category"]),
            phase=str(row["phase"]), rule=str(row["rule"]), status=str(row["status"]), correct=bool(row["correct"]),
            needs_reasoning=bool(row["needs_reasoning"]), position=int(row["position"]),
            n_prompt_tokens=int(row["n_prompt_tokens"]), input_ids=[int(t) for t in row["input_ids"]], generation=str(row["generation"]),
        )


@dataclass
class GraphRecord:
    """One graph: ids, where it sits, and its sizes and scores (a row of scores.parquet)."""

    graph_id: str
    prompt_id: str
    category: str
    phase: str
    rule: str  # what chose the position: boxed | expected (answer), result | step (think)
    status: str  # the generation's: correct | incorrect | unfinished
    correct: bool
    needs_reasoning: bool
    generation: str  # whose generation the input is: "own" or "teacher_forced:{reasoner}"
    position: int  # index of the explained token in prompt+output; the graph input is ids[:position]
    n_prompt_tokens: int
    n_input_tokens: int  # tokens the graph was computed on (== position)
    target_token_id: int  # the token at `position` of the sequence (the generation's, or the teacher-forced one)
    target_token: str
    top_logit_token_id: int  # the model's own most likely token there (argmax of its logits)
    target_probability: float  # the model's probability of the explained token (NaN: not among the logit targets)
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


class TargetNotExplained(ValueError):
    """A graph's logit targets do not include the token its position explains."""


def attribute_graph(model, input_ids: Sequence[int], cfg: GraphsConfig, target: int | None = None):
    """circuit-tracer's dense attribution graph for the logit of ``target`` after ``input_ids``
    (``cfg.logit_targets: planned``), or for circuit-tracer's salient logits (``salient``)."""
    from circuit_tracer import attribute

    ids = torch.tensor(list(input_ids), dtype=torch.long, device=model.cfg.device)
    if int(ids[0]) not in model.tokenizer.all_special_ids:
        log.warning("input does not start with a special token; circuit-tracer prepends one (positions shift by 1)")
    targets = None
    if cfg.logit_targets == "planned":
        if target is None or target < 0:
            raise TargetNotExplained("graphs.logit_targets: planned needs the token at the explained position (none given)")
        targets = torch.tensor([int(target)], dtype=torch.long)
    return attribute(
        ids, model, attribution_targets=targets, max_n_logits=cfg.max_n_logits, desired_logit_prob=cfg.desired_logit_prob,
        batch_size=cfg.batch_size, max_feature_nodes=cfg.max_feature_nodes, offload=None,  # see GraphsConfig: unsafe with skip transcoders
        update_interval=cfg.update_interval, verbose=log.isEnabledFor(logging.DEBUG),
    )


@torch.no_grad()
def top_token(model, input_ids: Sequence[int]) -> int:
    """The model's most likely next token after ``input_ids`` (its own choice, whatever is explained);
    unembeds the last position only (a full-sequence logit tensor is context × vocab: ~1 GB at 3.5k)."""
    ids = torch.tensor([list(input_ids)], dtype=torch.long, device=model.cfg.device)
    resid = model(ids, stop_at_layer=model.cfg.n_layers)
    return int(model.unembed(model.ln_final(resid[:, -1:]))[0, -1].argmax())


def target_probability(graph, target: int) -> float:
    """The model's probability of ``target`` among the graph's logit targets (NaN if not one of them)."""
    for t, p in zip(graph.logit_targets, graph.logit_probabilities.tolist()):
        if int(t.vocab_idx) == int(target):
            return float(p)
    return float("nan")


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 / 1024 if sys.platform == "darwin" else rss / 1024


def build_graph(model, tokenizer, plan: PlannedGraph, cfg: GraphsConfig, scan: str) -> tuple[GraphRecord, dict[str, Any]]:
    """One graph: attribute, scores on the dense graph, prune + JSON; returns (record, graph JSON)."""
    from circuit_tracer.graph import compute_graph_scores

    t0 = time.time()
    cuda = torch.cuda.is_available() and torch.device(model.cfg.device).type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    ids, gid = plan.input_ids, plan.graph_id
    target = ids[plan.position] if plan.position < len(ids) else -1
    graph = attribute_graph(model, ids[: plan.position], cfg, target)
    if len(graph.input_tokens) != plan.position:
        raise RuntimeError(f"{gid}: circuit-tracer used {len(graph.input_tokens)} tokens, expected {plan.position}")
    p_target = target_probability(graph, target)
    if cfg.logit_targets == "planned" and p_target != p_target:
        raise TargetNotExplained(f"{gid}: the graph's logit targets {[int(t.vocab_idx) for t in graph.logit_targets]} lack "
                                 f"the planned token {target} at position {plan.position}")
    replacement, completeness = compute_graph_scores(graph)
    top_logit = top_token(model, ids[: plan.position])
    n_active = int(graph.active_features.shape[0])
    data = json.loads(graph_to_model(graph, tokenizer, gid, scan, cfg.node_threshold, cfg.edge_threshold).model_dump_json())
    summary = graph_summary(data)
    rec = GraphRecord(
        graph_id=gid, prompt_id=plan.prompt_id, category=plan.category, phase=plan.phase, rule=plan.rule, status=plan.status,
        correct=plan.correct, needs_reasoning=plan.needs_reasoning, generation=plan.generation, position=plan.position,
        n_prompt_tokens=plan.n_prompt_tokens, n_input_tokens=len(graph.input_tokens), target_token_id=target,
        target_token=tokenizer.decode([target]) if target >= 0 else "", top_logit_token_id=top_logit, target_probability=p_target,
        n_active_features=n_active, replacement_score=float(replacement), completeness_score=float(completeness),
        file=f"{gid}.json", seconds=round(time.time() - t0, 3), peak_rss_mb=round(peak_rss_mb(), 1),
        peak_gpu_mb=round(torch.cuda.max_memory_allocated() / 2**20, 1) if cuda else 0.0, **summary,
    )
    log.info("%s (%s, %s): %d input tokens, target %r, %d active features → %d feature / %d error nodes in %d layers, "
             "%d edges; replacement %.3f completeness %.3f; %.1fs", gid, plan.rule, plan.generation, rec.n_input_tokens,
             rec.target_token, n_active, rec.n_feature_nodes, rec.n_error_nodes, len(rec.layers_with_features), rec.n_edges,
             replacement, completeness, rec.seconds)
    return rec, data


def build_prompt(model, tokenizer, plans: Sequence[PlannedGraph], cfg: GraphsConfig, out_dir: str | Path, scan: str,
                 prompt_id: str) -> tuple[list[GraphRecord], list[dict[str, Any]]]:
    """All graphs of one prompt into ``out_dir`` (``{graph_id}.json`` + ``manifest.json``, written last).

    A graph that cannot be built is recorded in the manifest's ``failed`` list with the reason,
    and the others are still built: one bad input never stops the stage.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records, failed = [], []
    for plan in plans:
        try:
            rec, data = build_graph(model, tokenizer, plan, cfg, scan)
        except (RuntimeError, ValueError, IndexError) as e:  # torch OOM is a RuntimeError too
            log.error("%s: not built: %s", plan.graph_id, e)
            failed.append({"graph_id": plan.graph_id, "prompt_id": plan.prompt_id, "phase": plan.phase,
                           "position": plan.position, "reason": f"{type(e).__name__}: {e}"})
            continue
        write_json(data, out_dir / rec.file, indent=None, newline=False)
        records.append(rec)
    write_json({"prompt_id": prompt_id, "config": cfg.to_dict(), "graphs": [asdict(r) for r in records], "failed": failed},
               out_dir / MANIFEST, newline=False)
    return records, failed


def read_manifest(build_dir: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(built graph records, failed graphs with their reasons) of one build dir."""
    path = Path(build_dir) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"graph build manifest not found: {path}")
    data = json.loads(path.read_text())
    return data["graphs"], data.get("failed", [])
