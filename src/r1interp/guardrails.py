"""Settings that cannot work together, caught at workflow start (before any job).

Why: every one of these combinations runs to the end without an error and produces nothing of
value (traces cut before ``</think>``, a 200M-token budget looping a small corpus hundreds of
times, graph jobs that all fail on context length or run out of memory after hours of training).
Each check raises :class:`r1interp.config.ConfigError` naming the key and a value that would work.

The memory model of attribution graphs (circuit-tracer 0.5, our skip transcoders):
  GPU  = weights + transcoder encoders (+ decoders unless ``lazy_decoder``)
         + max(4 V, 2 V + ``ACT_BYTES_PER_TOKEN_LAYER`` × context × layers × batch_size);
  host = the dense edge matrix, (max_feature_nodes + max_n_logits) × (active features + error and
         token nodes) × 4 bytes, with active features = context × layers × k.
``V`` is one d-wide vector per active feature — (context − 1) × layers × k of them (TopK; the first
position is zeroed) — in the graph dtype: ``TranscoderSet.compute_attribution_components`` keeps the
active features' encoder rows and their scaled decoder rows (2 V, with ``lazy_decoder`` too) for the
whole attribution, and while it concatenates them the per-layer pieces are still alive (4 V at that
moment, before the backward batches start). At the real run's context (3,456 tokens × 28 layers) V
is 9.5 GB at k = 32 and 38 GB at k = 128: the term that decides which dictionaries can be explained.
``ACT_BYTES_PER_TOKEN_LAYER`` is measured (README "Attribution graphs at scale": ~108 MB per batch
element for 2 layers × 256 tokens at d=1536, fp32) and scaled by width and dtype.

The memory model of transcoder training (sparsify's ``Trainer``, one group of layers per job):
  GPU  = model weights + the group's transcoders in fp32 × (weights, gradients and the optimizer's
         copies: ScheduleFree's z for signum, two moments for Adam/Muon)
         + one layer's dense pre-activations at a time (tokens per step × latents, bf16 under the
         trainer's autocast; AuxK's masked copy of them doubles it while latents are dead) + the
         hooked layers' MLP inputs and outputs and the forward's MLP intermediates.
One layer at a time because sparsify backpropagates each transcoder's loss inside its forward hook.
At the real run's step (32 × 1,024 tokens) a 197k-latent layer's pre-activations are 12.9 GB, and
seven such transcoders with their gradients and z are 51 GB.
"""

from __future__ import annotations

import logging
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from r1interp.config import ConfigError
from r1interp.core.dims import DTYPE_BYTES, ModelDims, dict_choices, dims_of

log = logging.getLogger(__name__)

ACT_BYTES_PER_TOKEN_LAYER = 0.21e6  # fp32, d=1536; per batch element
TEMPLATE_TOKENS = 16  # special tokens of a chat template around one user turn (upper bound)
# GPU memory by resources.gpu.gpu_model (SLURM gres names); unknown or "" -> DEFAULT_GPU_GB
GPU_MEMORY_GB = {
    "h200": 141, "h100": 80, "h800": 80, "a100": 80, "a100_80g": 80, "a100_40g": 40, "a100_40gb": 40,
    "l40s": 48, "l40": 48, "a6000": 48, "rtxa6000": 48, "a40": 48, "a10": 24, "a10g": 24, "l4": 24,
    "v100": 32, "rtx4090": 24, "rtx3090": 24,
}
DEFAULT_GPU_GB = 80.0


@dataclass(frozen=True)
class Guardrails:
    """config ``guardrails:`` (defaults equal schemas/stages/guardrails.schema.yaml)."""

    enabled: bool = True
    max_loops: float = 4.0
    median_trace_tokens: int | None = None
    corpus_tokens: int | None = None
    gpu_memory_gb: float | None = None

    @classmethod
    def from_config(cls, config: dict) -> "Guardrails":
        g = config.get("guardrails") or {}
        return cls(**{k: g[k] for k in ("enabled", "max_loops", "median_trace_tokens", "corpus_tokens", "gpu_memory_gb") if k in g})


def max_new_tokens(config: dict) -> int:
    """The generation budget: ``generation.max_new_tokens``, else ``data.max_new_tokens``."""
    gen = config.get("generation") or {}
    if gen.get("max_new_tokens") is not None:
        return int(gen["max_new_tokens"])
    return int((config.get("data") or {}).get("max_new_tokens", 96))


def _new_tokens_key(config: dict) -> str:
    return "generation.max_new_tokens" if (config.get("generation") or {}).get("max_new_tokens") is not None else "data.max_new_tokens"


def prompt_token_bound(config: dict) -> int:
    """Upper bound on a rendered prompt's tokens without a tokenizer: UTF-8 bytes of the system
    prompt and the longest prompt (a byte-level BPE never makes more tokens than bytes) + template."""
    from r1interp.core.prompt_sets import load_prompt_set

    prompts = load_prompt_set(config["run"].get("prompt_set", "toy"))
    system = (config.get("data") or {}).get("system_prompt") or ""
    longest = max((len(p.text.encode()) for p in prompts), default=0)
    return len(system.encode()) + 2 + longest + TEMPLATE_TOKENS


def check_generation_fits_graphs(config: dict) -> None:
    graphs = config.get("graphs") or {}
    if "max_context" not in graphs:
        return
    context = int(graphs["max_context"])
    new = max_new_tokens(config)
    prompt = prompt_token_bound(config)
    if prompt + new > context:
        raise ConfigError(
            f"graphs.max_context: {context} cannot hold a prompt (up to {prompt} tokens) plus "
            f"{_new_tokens_key(config)}: {new}; answer-phase graphs of long traces would fail. Set "
            f"graphs.max_context: {prompt + new} (or more), or {_new_tokens_key(config)}: {max(1, context - prompt)} (or less)"
        )


def check_prompt_set(config: dict) -> None:
    if config["run"].get("prompt_set", "toy") != "toy":
        return
    real = [m for m in config["run"]["models"] if config["models"][m]["source"] != "toy"]
    if real:
        raise ConfigError(
            f"run.prompt_set: 'toy' is the toy models' synthetic arithmetic; real model(s) {real} need "
            f"run.prompt_set: benchmark (the 24-prompt set)"
        )


def _reasoning_local_files(config: dict) -> list[str]:
    data = config.get("data") or {}
    specs = (data.get("hf") or {}).get("datasets") or []
    if not any(s.get("kind", "reasoning") == "reasoning" for s in specs):
        return []
    return list((data.get("hf") or {}).get("local_files") or [])


def _local_tokenizer(config: dict):
    """The first reasoner's tokenizer when it is on disk (local dir or cache), else None."""
    from transformers import AutoTokenizer

    for m in config["run"]["models"]:
        e = config["models"][m]
        if e["role"] == "reasoner" and e["source"] == "hf":
            try:
                if Path(e["path"]).is_dir():
                    return AutoTokenizer.from_pretrained(e["path"])
                return AutoTokenizer.from_pretrained(e["path"], local_files_only=True)
            except Exception as err:  # not local: fall back to a byte estimate
                log.debug("tokenizer of %s not local: %s", m, err)
    return None


BYTES_PER_TOKEN = 4.0  # English/LaTeX with Qwen's BPE when no tokenizer is at hand (stated estimate)


def trace_lengths(config: dict, limit: int = 2000) -> list[int] | None:
    """Token lengths of the reasoning traces in ``data.hf.local_files`` (first ``limit`` rows)."""
    files = _reasoning_local_files(config)
    if not files:
        return None
    from r1interp.core.sources import hf_examples

    spec = next(s for s in config["data"]["hf"]["datasets"] if s.get("kind", "reasoning") == "reasoning")
    tok = _local_tokenizer(config)
    lengths = []
    for ex in hf_examples(spec, files, limit=limit):
        if not ex.think:
            continue
        if tok is not None:
            lengths.append(len(tok(ex.think, add_special_tokens=False)["input_ids"]))
        else:
            lengths.append(math.ceil(len(ex.think.encode()) / BYTES_PER_TOKEN))
    return lengths or None


def check_seq_len_holds_traces(config: dict, g: Guardrails) -> None:
    data = config.get("data") or {}
    if data.get("source") != "hf":
        return
    if not any(config["models"][m]["role"] == "reasoner" for m in config["run"]["models"]):
        return
    lengths = trace_lengths(config)
    if lengths is not None:
        median, where = int(statistics.median(lengths)), f"computed from {len(lengths)} traces of data.hf.local_files"
    elif g.median_trace_tokens is not None:
        median, where = int(g.median_trace_tokens), "stated in guardrails.median_trace_tokens"
    else:
        log.warning("no local corpus and no guardrails.median_trace_tokens: data.max_seq_len not checked")
        return
    seq = int(data.get("max_seq_len", 160))
    if seq < median:
        need = 512 * math.ceil((median + 512) / 512)  # the trace, the prompt and the answer
        raise ConfigError(
            f"data.max_seq_len: {seq} is shorter than the median reasoning trace ({median} tokens, {where}): "
            f"most documents would be cut inside <think>. Set data.max_seq_len: {need} (or more)"
        )


def corpus_tokens(config: dict, g: Guardrails) -> tuple[int, str] | None:
    """Tokens the data stage can draw from: the local files, the stated count, or None (toy: the
    toy corpus is sized by the toy section and reused on purpose)."""
    data = config.get("data") or {}
    if data.get("source") != "hf":
        return None
    files = list((data.get("hf") or {}).get("local_files") or [])
    if files:
        from r1interp.core.sources import hf_examples

        tok = _local_tokenizer(config)
        total = 0
        for spec in data["hf"]["datasets"][:1]:
            for ex in hf_examples(spec, files):
                text = f"{ex.question}\n{ex.think or ''}\n{ex.answer}"
                total += len(tok(text, add_special_tokens=False)["input_ids"]) if tok is not None else math.ceil(len(text.encode()) / BYTES_PER_TOKEN)
        return total, "counted in data.hf.local_files"
    if g.corpus_tokens is not None:
        specs = (data.get("hf") or {}).get("datasets") or []
        w_reason = sum(s.get("weight", 1.0) for s in specs if s.get("kind", "reasoning") == "reasoning")
        w_all = sum(s.get("weight", 1.0) for s in specs) or 1.0
        # the reasoning stream supplies its weight's share; the other streams (web text) are not the limit
        return int(g.corpus_tokens * w_all / max(w_reason, 1e-9)), "stated in guardrails.corpus_tokens (scaled by the dataset weights)"
    return None


def check_loops(config: dict, g: Guardrails) -> None:
    data = config.get("data") or {}
    train_shard = int(data.get("train_tokens", 300_000))
    corpus = corpus_tokens(config, g)
    if corpus is not None:
        n, where = corpus
        available = int(n * (1 - float(data.get("eval_fraction", 0.1))))
        train_shard = min(train_shard, max(1, available))
    budgets = [("transcoders.train_tokens", (config.get("transcoders") or {}).get("train_tokens")),
               ("sweep.train_tokens", (config.get("sweep") or {}).get("train_tokens"))]
    for key, budget in budgets:
        if budget is None:
            continue
        loops = int(budget) / train_shard
        if loops > g.max_loops:
            source = f"the train shard holds at most {train_shard:,} tokens" + (f" ({corpus[1]})" if corpus else " (data.train_tokens)")
            fix = f"{key}: {int(g.max_loops * train_shard)} (or less)"
            if train_shard == int(data.get("train_tokens", 300_000)):  # the budget, not the corpus, is the limit
                fix += f", or data.train_tokens: {math.ceil(int(budget) / g.max_loops)} (or more)"
            raise ConfigError(
                f"{key}: {int(budget)} loops the corpus {loops:.1f} times ({source}; guardrails.max_loops: {g.max_loops}). Set {fix}"
            )


def gpu_memory_gb(config: dict, g: Guardrails, rule: str | None = None) -> tuple[float, str]:
    """The GPU memory ``rule``'s jobs get: its own ``resources.rules.<rule>.gpu_model`` where set
    (a rule sent to another card), else the GPU class's; ``guardrails.gpu_memory_gb`` overrides."""
    if g.gpu_memory_gb is not None:
        return float(g.gpu_memory_gb), "guardrails.gpu_memory_gb"
    res = config.get("resources") or {}
    own = ((res.get("rules") or {}).get(rule) or {}).get("gpu_model") if rule else None
    key = f"resources.rules.{rule}.gpu_model" if own else "resources.gpu.gpu_model"
    name = str(own or (res.get("gpu") or {}).get("gpu_model", "")).lower()
    if name in GPU_MEMORY_GB:
        return float(GPU_MEMORY_GB[name]), f"{key} {name!r}"
    return DEFAULT_GPU_GB, f"{key} {name!r} (unknown: assumed {DEFAULT_GPU_GB:g} GB)"


@dataclass(frozen=True)
class GraphMemory:
    gpu_gb: float
    host_gb: float
    gpu_fixed_gb: float
    """Weights and transcoders."""
    gpu_per_batch_gb: float
    feature_vectors_gb: float
    """``V``: one d-wide vector per active feature (the module docstring)."""

    def batches_that_fit(self, usable_gb: float) -> int:
        """The largest ``graphs.batch_size`` within ``usable_gb`` (0: none, not even 1)."""
        if self.gpu_fixed_gb + 4 * self.feature_vectors_gb > usable_gb or self.gpu_per_batch_gb <= 0:
            return 0
        return int((usable_gb - self.gpu_fixed_gb - 2 * self.feature_vectors_gb) // self.gpu_per_batch_gb)


def active_feature_vector_bytes(dims: ModelDims, k: int, context: int, dtype_bytes: int) -> int:
    """``V``: bytes of one d-wide vector per active feature of a graph over ``context`` tokens."""
    return max(context - 1, 0) * dims.n_layers * k * dims.d * dtype_bytes


def graph_memory(dims: ModelDims, n_latents: int, k: int, graphs: dict) -> GraphMemory:
    """Peak memory of one attribution graph (the module docstring's model)."""
    b = DTYPE_BYTES.get(graphs.get("dtype", "float32"), 4)
    context = int(graphs.get("max_context", 512))
    weights = dims.params() * b
    tc = dims.n_layers * (dims.d * n_latents * (1 if graphs.get("lazy_decoder") else 2) + dims.d * dims.d) * b
    vectors = active_feature_vector_bytes(dims, k, context, b)
    per_batch = ACT_BYTES_PER_TOKEN_LAYER * (dims.d / 1536) * (b / 4) * context * dims.n_layers
    batch = int(graphs.get("batch_size", 64))
    rows = int(graphs.get("max_feature_nodes", 512)) + int(graphs.get("max_n_logits", 10))
    cols = context * dims.n_layers * (k + 1) + context + int(graphs.get("max_n_logits", 10))
    host = rows * cols * 4 + dims.params() * 4  # edge matrix (fp32) + the model while loading
    gb = 1e9
    gpu = weights + tc + max(4 * vectors, 2 * vectors + per_batch * batch)
    return GraphMemory(gpu / gb, host / gb, (weights + tc) / gb, per_batch / gb, vectors / gb)


OPTIMIZER_COPIES = {"signum": 1, "adam": 2, "muon": 2}
"""fp32 copies of every transcoder weight that the optimizer keeps, besides the weight and its gradient."""


@dataclass(frozen=True)
class TrainMemory:
    gpu_gb: float
    coders_gb: float
    """The group's transcoders: weights, gradients, optimizer copies."""
    dense_gb: float
    """One layer's dense pre-activation buffers."""


def training_memory(dims: ModelDims, n_latents: int, group: int, transcoders: dict, model_bytes: int = 2) -> TrainMemory:
    """Peak GPU memory of one training job of ``group`` layers (the module docstring's model)."""
    tokens = int(transcoders.get("batch_size", 16)) * int(transcoders.get("seq_len", 128))
    per_layer = 2 * n_latents * dims.d + dims.d * dims.d + n_latents + dims.d  # W_enc, W_dec, W_skip, biases
    coders = group * per_layer * 4 * (2 + OPTIMIZER_COPIES.get(str(transcoders.get("optimizer", "signum")), 2))
    dense = (2 if float(transcoders.get("auxk_alpha", 0.03125)) > 0 else 1) * tokens * n_latents * 2
    activations = (2 * group * dims.d + 3 * dims.d_mlp) * tokens * model_bytes
    gb = 1e9
    return TrainMemory((dims.params() * model_bytes + coders + dense + activations) / gb, coders / gb, dense / gb)


def check_training_memory(config: dict, g: Guardrails) -> None:
    """Every dictionary the run may train — its sweep selection, else every grid point — must fit
    a training job of ``transcoders.group_size`` layers, and each grid point the sweep's pilot job."""
    from r1interp.core.costplan import pilot_layers
    from r1interp.core.groups import layer_groups
    from r1interp.core.settings import sweep_model

    tc = config.get("transcoders") or {}
    group_size = int(tc.get("group_size", 0))
    pilot_model = sweep_model(config)
    for m in config["run"]["models"]:
        if (config["models"].get(m) or {}).get("source") == "toy":
            continue  # the toy trains on CPU
        dims = dims_of(config, m)
        model_bytes = DTYPE_BYTES.get(str((config["models"].get(m) or {}).get("dtype", "auto")), 2)
        group = max(len(x) for x in layer_groups(dims.n_layers, group_size))
        choices, selected = dict_choices(config, dims.d)
        widths = sorted({dd.n_latents for dd in choices})  # training memory does not depend on k
        jobs = [("transcoders.group_size", group, "train_transcoders")]
        if not selected and m == pilot_model:
            jobs.append(("the sweep's pilot layers", len(pilot_layers(config, dims.n_layers)), "sweep_point"))
        for what, n_layers, rule in jobs:
            limit, where = gpu_memory_gb(config, g, rule)
            usable = 0.9 * limit
            too_big = [(n, training_memory(dims, n, n_layers, tc, model_bytes)) for n in widths]
            too_big = [(n, mem) for n, mem in too_big if mem.gpu_gb > usable]
            if not too_big:
                continue
            names = ", ".join(f"expansion {n // dims.d} (~{mem.gpu_gb:.0f} GB)" for n, mem in too_big)
            widest, widest_mem = too_big[-1]
            fits = [size for size in range(n_layers - 1, 0, -1) if training_memory(dims, widest, size, tc, model_bytes).gpu_gb <= usable]
            fix = [f"transcoders.group_size: {fits[0]} (or less)"] if fits and what == "transcoders.group_size" else []
            if not selected:
                fix.append(f"sweep.grid.expansion_factor without {[n // dims.d for n, _ in too_big]}")
            fix.append(f"transcoders.batch_size below {tc.get('batch_size')} (one layer's dense pre-activation buffers are "
                       f"{widest_mem.dense_gb:.0f} GB at expansion {widest // dims.d})")
            raise ConfigError(
                f"{what} ({n_layers} layers per job) does not fit {m}'s transcoder training on the GPU for "
                f"{'the selected dictionary' if selected else 'sweep.grid points the sweep may select'}: {names}; "
                f"{where} has {limit:g} GB ({usable:.0f} usable). Set " + ", or ".join(fix))


def graph_host_mem_mb(config: dict) -> int:
    res = config.get("resources") or {}
    override = ((res.get("rules") or {}).get("graphs_build") or {}).get("mem_mb")
    return int(override or (res.get("gpu") or {}).get("mem_mb", 48000))


def check_graph_memory(config: dict, g: Guardrails) -> None:
    """Every dictionary the run may explain — its sweep selection, else every grid point (the
    sweep may pick any) — must fit one graph on the GPU and its edge matrix in host memory."""
    graphs = config.get("graphs") or {}
    if not graphs:
        return
    limit, where = gpu_memory_gb(config, g, "graphs_build")
    usable = 0.9 * limit  # CUDA context, allocator fragmentation
    host_mb = graph_host_mem_mb(config)
    context = int(graphs.get("max_context", 512))
    for m in config["run"]["models"]:
        dims = dims_of(config, m)
        choices, selected = dict_choices(config, dims.d)
        mems = [graph_memory(dims, dd.n_latents, dd.k, graphs) for dd in choices]
        too_big = [(dd, mem) for dd, mem in zip(choices, mems) if mem.gpu_gb > usable]
        if too_big:
            raise ConfigError(_gpu_misfit(m, graphs, too_big, choices, selected, dims, usable, limit, where))
        dd, mem = max(zip(choices, mems), key=lambda x: x[1].host_gb)
        if mem.host_gb * 1000 > host_mb:
            rows_ok = int((host_mb / 1000 - dims.params() * 4 / 1e9) * 1e9 / 4 /
                          (context * dims.n_layers * (dd.k + 1))) - int(graphs.get("max_n_logits", 10))
            raise ConfigError(
                f"graphs.max_feature_nodes: {graphs.get('max_feature_nodes')} needs ~{mem.host_gb:.0f} GB of host memory for "
                f"{m}'s edge matrix (context {graphs.get('max_context')}, k {dd.k}); resources.gpu.mem_mb (or "
                f"resources.rules.graphs_build.mem_mb) is {host_mb}. Set resources.rules.graphs_build.mem_mb: "
                f"{math.ceil(mem.host_gb * 1.1) * 1000} or graphs.max_feature_nodes: {max(rows_ok, 1)} (or less)"
            )


def _gpu_misfit(model: str, graphs: dict, too_big: list, choices: list, selected: bool, dims: ModelDims, usable: float,
                limit: float, where: str) -> str:
    """The message for dictionaries whose graphs cannot fit: which, how much, and settings that fit."""
    d = dims.d
    dd, mem = max(too_big, key=lambda x: x[1].gpu_gb)
    names = ", ".join(f"expansion {c.n_latents // d} k {c.k} (~{m.gpu_gb:.0f} GB)" for c, m in too_big)
    what = f"the selected dictionary ({names})" if selected else f"sweep.grid points the sweep may select: {names}"
    head = (f"graphs.batch_size: {graphs.get('batch_size')} does not fit {model}'s attribution graphs on the GPU for {what} "
            f"(context {graphs.get('max_context')}, dtype {graphs.get('dtype', 'float32')}; the active features' encoder and decoder "
            f"rows alone are {2 * mem.feature_vectors_gb:.0f} GB at k {dd.k}, twice that while circuit-tracer gathers them); "
            f"{where} has {limit:g} GB ({usable:.0f} usable).")
    fits = [m.batches_that_fit(usable) for _, m in too_big]
    if min(fits) >= 1:
        return f"{head} Set graphs.batch_size: {min(fits)} (or less)"
    never = sorted({c.k for (c, _), f in zip(too_big, fits) if f == 0})
    smaller_batch = min((f for f in fits if f >= 1), default=0)
    fixes = []
    if not selected and len(too_big) < len(choices):
        fixes.append(f"sweep.grid.k without {never} (no batch size fits them)"
                     + (f" and graphs.batch_size: {smaller_batch} (or less)" if smaller_batch else ""))
    widest = max((c for (c, _), f in zip(too_big, fits) if f == 0), key=lambda c: (c.k, c.n_latents))
    context = _largest_context(dims, widest, graphs, usable)
    if context > 1:
        fixes.append(f"graphs.max_context: {context} (or less), which k {widest.k} allows at graphs.batch_size: 1")
    if not graphs.get("lazy_decoder"):
        fixes.append("graphs.lazy_decoder: true")
    return f"{head} Set " + ", or ".join(fixes or ["a GPU with more memory (resources.gpu.gpu_model)"])


def _largest_context(dims: ModelDims, dd, graphs: dict, usable: float) -> int:
    """The longest ``graphs.max_context`` at which one graph of ``dd`` fits ``usable`` GB with batches of 1 (0: none)."""
    lo, hi = 0, int(graphs.get("max_context", 512))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if graph_memory(dims, dd.n_latents, dd.k, {**graphs, "max_context": mid, "batch_size": 1}).gpu_gb <= usable:
            lo = mid
        else:
            hi = mid - 1
    return lo


def check_guardrails(config: dict) -> None:
    """Every guardrail, cheapest first; raises :class:`ConfigError` on the first violation."""
    g = Guardrails.from_config(config)
    if not g.enabled:
        log.warning("guardrails.enabled: false — settings are not cross-checked")
        return
    check_prompt_set(config)
    check_generation_fits_graphs(config)
    check_loops(config, g)
    check_seq_len_holds_traces(config, g)
    check_graph_memory(config, g)
    check_training_memory(config, g)
