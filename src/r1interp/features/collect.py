"""One model pass over the corpus that feeds every layer's transcoder at once.

Why a pre-hook on each ``layers[L].mlp``: its input is exactly the post-norm MLP input the skip
transcoders were trained on. All hooked layers update inside the same forward; the forward stops
right after the last hooked layer (later blocks, the final norm and the LM head would be wasted).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import torch
from torch import nn
from tqdm.auto import tqdm

from r1interp.artifacts.segments import SEGMENT_NAMES
from r1interp.features.accumulate import (N_SEGMENTS, BatchContext, LayerAccumulator, NegativePool, release_workspace,
                                          to_numpy)
from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.features.config import FeatureConfig
from r1interp.features.corpus import Corpus, batches, chunks
from r1interp.features.logit_lens import logit_lens, unembedding
from r1interp.features.tables import EXAMPLES_SCHEMA, example_batches, stats_table
from r1interp.models import decoder_layers

log = logging.getLogger(__name__)


class _StopForward(Exception):
    """Raised in the last hooked layer; caught by :func:`run_pass`."""


@dataclass
class PassResult:
    """Everything the pass accumulated; turned into tables by :func:`layer_tables`."""

    layers: dict[int, LayerAccumulator]
    pool: NegativePool
    n_tokens: int = 0  # counted tokens (every statistic's denominator)
    seg_tokens: np.ndarray = field(default_factory=lambda: np.zeros(N_SEGMENTS, dtype=np.int64))
    n_model_tokens: int = 0  # tokens the model ran on (counted + skipped first positions)
    n_chunks: int = 0
    n_docs: int = 0
    seconds: float = 0.0


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@contextmanager
def layer_hooks(model: nn.Module, accs: dict[int, LayerAccumulator], state: dict[str, Any]) -> Iterator[None]:
    """Pre-hooks that hand each layer's MLP input (counted tokens only) to its accumulator."""
    blocks = decoder_layers(model)
    last = max(accs)
    handles = []

    def make(layer: int):
        def hook(_module, args):
            ctx: BatchContext = state["ctx"]
            x = args[0]
            accs[layer].update(x.reshape(-1, x.shape[-1])[ctx.tok], ctx)
            if layer == last:
                raise _StopForward

        return hook

    for layer in accs:
        handles.append(blocks[layer].mlp.register_forward_pre_hook(make(layer)))
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        release_workspace()


@torch.no_grad()
def run_pass(model: nn.Module, transcoders: dict[int, SkipTranscoder], corpus: Corpus, cfg: FeatureConfig,
             progress: bool = True) -> PassResult:
    """The single streaming pass; transcoders move to the model's device (dtype kept)."""
    if not transcoders:
        raise ValueError("no transcoders given")
    n_layers = len(decoder_layers(model))
    bad = [layer for layer in transcoders if not 0 <= layer < n_layers]
    if bad:
        raise ValueError(f"layers {bad} out of range 0..{n_layers - 1}")
    d_model = model.config.hidden_size
    wrong = {layer: tc.d_in for layer, tc in transcoders.items() if tc.d_in != d_model}
    if wrong:
        raise ValueError(f"transcoder d_in {wrong} != model hidden_size {d_model}")
    dev = model_device(model)
    gen = torch.Generator(device=dev).manual_seed(cfg.seed)
    pool = NegativePool(cfg.negative_pool, cfg.window, dev, gen)
    accs = {layer: LayerAccumulator(tc.to(dev), cfg, pool, gen) for layer, tc in sorted(transcoders.items())}
    log.info("streaming state: %.1f MiB on %s for %d layers", sum(a.nbytes() for a in accs.values()) / 2**20, dev, len(accs))
    table = chunks(corpus, cfg.max_seq_len, min_len=cfg.skip_first_tokens + 1, max_tokens=cfg.max_tokens)
    res = PassResult(accs, pool, n_chunks=len(table), n_docs=len(np.unique(table[:, 0])))
    state: dict[str, Any] = {}
    base = getattr(model, "model", model)  # the decoder stack without the LM head
    t0 = time.perf_counter()
    total = int(table[:, 2].sum())
    next_log = max(1, total // 10)
    bar = tqdm(total=total, unit="tok", unit_scale=True, disable=not progress, desc="features")
    with layer_hooks(model, accs, state):
        for batch in batches(corpus, table, cfg.batch_tokens, cfg.max_batch_seqs):
            ctx = BatchContext.build(batch, cfg.skip_first_tokens, dev)
            state["ctx"] = ctx
            pool.propose(ctx)
            ids = torch.as_tensor(batch.input_ids, device=dev)
            padded = bool((batch.lengths < ids.shape[1]).any())  # no mask when unpadded: HF's mask path is slow
            mask = (torch.arange(ids.shape[1], device=dev)[None, :] < ctx.lengths[:, None]).long() if padded else None
            try:
                base(input_ids=ids, attention_mask=mask, use_cache=False)
            except _StopForward:
                pass
            res.n_tokens += ctx.tok.numel()
            res.seg_tokens += to_numpy(torch.bincount(ctx.tok_seg, minlength=N_SEGMENTS))
            res.n_model_tokens += batch.n_tokens
            bar.update(batch.n_tokens)
            if not progress and res.n_model_tokens >= next_log:  # the rule's log file gets ~10 lines
                log.info("%d / %d tokens (%.0f tok/s)", res.n_model_tokens, total, res.n_model_tokens / (time.perf_counter() - t0))
                next_log += max(1, total // 10)
    bar.close()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    res.seconds = time.perf_counter() - t0
    return res


def vocab_strings(tokenizer, size: int) -> np.ndarray:
    """Each id decoded alone (``tokens`` column, logit-lens tokens); ids past the tokenizer → ''."""
    n = min(len(tokenizer), size)
    out = np.array([""] * size, dtype=object)
    out[:n] = tokenizer.batch_decode([[i] for i in range(n)], skip_special_tokens=False, clean_up_tokenization_spaces=False)
    return out


def layer_logits(model: nn.Module, tc: SkipTranscoder, n: int, vocab_limit: int) -> tuple[np.ndarray, ...]:
    w_u, g = unembedding(model)
    return tuple(t.numpy() for t in logit_lens(tc.W_dec, w_u, g, n, vocab_limit=vocab_limit))


def layer_tables(res: PassResult, layer: int, model: nn.Module, corpus: Corpus, cfg: FeatureConfig,
                 vocab: np.ndarray, vocab_limit: int, chunk: int = 4096) -> tuple[pa.Table, Iterator[pa.RecordBatch]]:
    """``(stats table, examples record batches)`` of one layer."""
    acc = res.layers[layer]
    logits = layer_logits(model, acc.tc, cfg.n_logits, vocab_limit)
    stats = stats_table(acc, res.n_tokens, res.seg_tokens, cfg, logits, vocab)
    seed = cfg.seed * 1_000_003 + layer
    return stats, example_batches(acc, res.pool, corpus, cfg, vocab, seed, chunk)


def summary(res: PassResult, stats: dict[int, pa.Table], cfg: FeatureConfig) -> dict[str, Any]:
    """Small run summary (``summary.json``)."""
    layers = {}
    for layer, table in sorted(stats.items()):
        frac = table.column("frac_active").to_numpy()
        layers[str(layer)] = {
            "n_features": int(len(frac)),
            "dead_fraction": float((frac == 0).mean()) if len(frac) else 0.0,
            "mean_l0": float(frac.sum()),  # active features per counted token
            "frac_active_median": float(np.median(frac)) if len(frac) else 0.0,
        }
    return {
        "tokens_processed": int(res.n_model_tokens),
        "tokens_counted": int(res.n_tokens),
        "tokens_per_segment": {SEGMENT_NAMES[s]: int(res.seg_tokens[s]) for s in range(N_SEGMENTS)},
        "documents": int(res.n_docs),
        "chunks": int(res.n_chunks),
        "seconds": round(res.seconds, 3),
        "tokens_per_second": round(res.n_model_tokens / res.seconds, 1) if res.seconds else None,
        "layers": layers,
        "config": cfg.to_dict(),
    }


def collect(model: nn.Module, tokenizer, transcoders: dict[int, SkipTranscoder], corpus: Corpus,
            cfg: FeatureConfig, progress: bool = False) -> dict[int, tuple[pd.DataFrame, pd.DataFrame]]:
    """The pure-function API: ``{layer: (stats_df, examples_df)}`` from one pass (small runs/tests)."""
    res = run_pass(model, transcoders, corpus, cfg, progress=progress)
    vocab, vocab_limit = vocab_for(model, tokenizer, corpus)
    out = {}
    for layer in res.layers:
        stats, examples = layer_tables(res, layer, model, corpus, cfg, vocab, vocab_limit)
        out[layer] = (stats.to_pandas(), pa.Table.from_batches(list(examples), schema=EXAMPLES_SCHEMA).to_pandas())
    return out


def vocab_for(model: nn.Module, tokenizer, corpus: Corpus) -> tuple[np.ndarray, int]:
    """``(decoded string of every id, number of ids the logit lens ranks)``."""
    n_unembed = unembedding(model)[0].shape[0]
    size = max(len(tokenizer), n_unembed, int(corpus.tokens.max(initial=0)) + 1)
    return vocab_strings(tokenizer, size), min(len(tokenizer), n_unembed)
