"""Benchmark: activation collection against the transcoder encodes it cannot avoid (issue #17).

Measured side by side in one process over the *same* batches of the same tokens, interleaved
``--repeats`` times (the order rotates each repeat, so none always runs first or after the same
neighbour) and reporting medians:

- ``bare``     ``model(input_ids, attention_mask)``: the full causal-LM forward (with logits);
- ``encode``   the decoder stack with every layer's ``SkipTranscoder.encode`` in a hook and nothing
               else: the floor any collection must pay (``encode`` also writes the dense ``[N, F]``
               output, which collection never builds, so this floor is a little generous);
- ``collect``  :func:`r1interp.features.run_pass` (all statistics, top-k, reservoirs, windows).

The target is ``collect / encode-only <= 1.15`` (the bookkeeping on top of the encodes), taken as
the median over repeats of the ratio of *CPU* seconds (``time.process_time``) of adjacent runs: on a
machine shared with other jobs, wall time mostly measures the neighbours, CPU time much less so
(pass ``--threads 1``: with more threads, spinning workers count as CPU too). Wall ratios are
printed alongside. The
``encode / bare`` ratio is what the transcoders themselves cost at this shape. At toy scale the
encoders' TopK dominates; at the real shape the script's FLOP model gives the floor (encoders ≈ 1.3×
the model's own FLOPs → collection ≥ ~2.3× a bare forward). Table finalisation (once per run,
independent of the token count) is timed separately.

Why 120k tokens of the train shard by default: the example buffers' fill-up is a fixed cost per
feature (the first batches offer every candidate to empty top-k/reservoir slots and cut a window for
each), after which a candidate is rarely kept. On the toy's 30k-token eval shard (8 batches) that
fill-up is most of the bookkeeping (collect/encode-only ~1.15-1.25 on a loaded machine); from ~100k
tokens on the steady state shows (~1.0), and a real pass is 100M tokens. ``--split eval
--max-tokens 0`` measures the toy's own collection.

Defaults use the workflow's toy model and token shard when they exist (``results/toy/models/...``
under ``--results``), its transcoders when trained, else random ones (``--expansion``, ``--k``).
``python bench/bench_features.py [--model toy-reasoner] [--device cpu] [--threads 1] [--results DIR]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from r1interp.features import Corpus, FeatureConfig, run_pass
from r1interp.features.collect import layer_tables, vocab_for
from r1interp.features.corpus import batches, chunks
from r1interp.models import decoder_layers
from r1interp.artifacts.transcoder import SkipTranscoder, load_transcoder

ROOT = Path(__file__).resolve().parents[1]


def toy_like_model(vocab: int = 384, seed: int = 0):
    """A random model with the toy's shape, for when the workflow has not built the toy yet."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=vocab, hidden_size=64, intermediate_size=256, num_hidden_layers=6,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      tie_word_embeddings=True, use_sliding_window=False)
    return Qwen2ForCausalLM(cfg).eval().requires_grad_(False)


class IdTokenizer:
    """Minimal tokenizer stand-in for the random-model path (tokens shown as their ids)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def batch_decode(self, ids, **_):
        return [f"<{i[0]}>" for i in ids]


def random_transcoders(n_layers: int, d: int, expansion: int, k: int, seed: int = 0) -> dict[int, SkipTranscoder]:
    g = torch.Generator().manual_seed(seed)
    f = d * expansion
    return {layer: SkipTranscoder(torch.randn(f, d, generator=g) / d**0.5, torch.zeros(f), torch.randn(f, d, generator=g) / d**0.5,
                                  torch.zeros(d), torch.zeros(d, d), k) for layer in range(n_layers)}


def load_inputs(args):
    results = Path(args.results)
    model_dir = results / f"toy/models/{args.model}"
    shard = results / f"{args.model}/data/{args.split}.parquet"
    if model_dir.is_dir() and not args.random:
        from r1interp.models import load_model

        model, tok = load_model(model_dir, device=args.device, dtype="float32")
        source = str(model_dir)
    else:
        model, tok = toy_like_model().to(args.device), IdTokenizer(384)
        source = "random toy-shaped model"
    n_layers, d = model.config.num_hidden_layers, model.config.hidden_size
    tc_root = results / f"{args.model}/transcoders"
    if all((tc_root / f"L{layer}" / "cfg.json").is_file() for layer in range(n_layers)) and not args.random:
        tcs = {layer: load_transcoder(tc_root / f"L{layer}", device=args.device) for layer in range(n_layers)}
        tc_source = str(tc_root)
    else:
        tcs = {layer: tc.to(args.device) for layer, tc in random_transcoders(n_layers, d, args.expansion, args.k).items()}
        tc_source = f"random (expansion {args.expansion}, k {args.k})"
    if shard.is_file() and not args.random:
        corpus = Corpus.from_parquet([shard])
        corpus_source = str(shard)
    else:
        rng = np.random.default_rng(0)
        docs = [rng.integers(0, len(tok), rng.integers(60, 160)) for _ in range(300)]
        corpus = Corpus.from_lists(range(len(docs)), docs, [rng.integers(0, 4, len(x)) for x in docs])
        corpus_source = "random tokens"
    return model, tok, tcs, corpus, (source, tc_source, corpus_source)


def device_batches(corpus: Corpus, cfg: FeatureConfig, device: str):
    table = chunks(corpus, cfg.max_seq_len, min_len=cfg.skip_first_tokens + 1, max_tokens=cfg.max_tokens)
    out = []
    for b in batches(corpus, table, cfg.batch_tokens, cfg.max_batch_seqs):
        ids = torch.as_tensor(b.input_ids, device=device)
        lengths = torch.as_tensor(b.lengths, device=device)
        padded = bool((b.lengths < ids.shape[1]).any())
        mask = (torch.arange(ids.shape[1], device=device)[None] < lengths[:, None]).long() if padded else None
        out.append((ids, mask))
    return out, int(table[:, 2].sum())


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, device: str) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of ``fn()``; CPU is this process's (all its threads)."""
    sync(device)
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    sync(device)
    return time.perf_counter() - w0, time.process_time() - c0


@torch.no_grad()
def run_bare(model, data) -> None:
    for ids, mask in data:
        model(input_ids=ids, attention_mask=mask, use_cache=False)


@torch.no_grad()
def run_encode(model, tcs, data) -> None:
    blocks = decoder_layers(model)

    def make(tc):
        def hook(_module, args):  # returns None: the MLP input is left as it is
            tc.encode(args[0])

        return hook

    hooks = [blocks[layer].mlp.register_forward_pre_hook(make(tc)) for layer, tc in tcs.items()]
    try:
        for ids, mask in data:
            model.model(input_ids=ids, attention_mask=mask, use_cache=False)
    finally:
        for h in hooks:
            h.remove()


def flop_floor(n_layers: int, d: int, d_ff: int, n_heads: int, n_kv: int, vocab: int, expansion: int,
               context: int) -> dict[str, float]:
    """FLOPs per token of a Qwen2 forward and of one TopK encoder per layer (``2·d·F`` each).

    Attention scores/values add ``4·context·d`` per layer (``context`` = mean attended length).
    The collection pass stops after the last hooked layer, so it skips the LM head.
    """
    head = d // n_heads
    attn_params = d * d + 2 * d * n_kv * head + d * d
    layer = 2 * (attn_params + 3 * d * d_ff) + 4 * context * d
    body, lm_head = n_layers * layer, 2 * d * vocab
    enc = n_layers * 2 * d * expansion * d
    return {"model": body + lm_head, "encoders": enc, "ratio": enc / (body + lm_head),
            "floor": (body + enc) / (body + lm_head), "floor_with_head": (body + lm_head + enc) / (body + lm_head)}


def print_floor() -> None:
    # DeepSeek-R1-Distill-Qwen-1.5B: 28 layers, d 1536, MLP 8960, 12 heads / 2 KV heads, vocab 151936
    real = flop_floor(28, 1536, 8960, 12, 2, 151936, expansion=32, context=512)
    print(f"FLOP-model floor, real shape (28 layers, d=1536, 32x expansion = 49152 latents, mean context 512): "
          f"encoders = {real['encoders'] / 1e9:.2f} GFLOP/token = {real['ratio']:.2f}x the model's "
          f"{real['model'] / 1e9:.2f}; collection floor = {real['floor']:.2f}x a bare forward "
          f"({real['floor_with_head']:.2f}x if the LM head also ran)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="toy-reasoner")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--split", default="train", help="token shard of the toy model: train (~500k tokens) | eval (~30k)")
    ap.add_argument("--max-tokens", type=int, default=120000, help="tokens per run (0: the whole shard); see the module docstring")
    ap.add_argument("--expansion", type=int, default=8)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--results", default=str(ROOT / "results"), help="the workflow's results folder (toy model, shard, transcoders)")
    ap.add_argument("--random", action="store_true", help="random toy-shaped model, transcoders and tokens")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tok, tcs, corpus, sources = load_inputs(args)
    cfg = FeatureConfig(batch_tokens=args.batch_tokens, max_tokens=args.max_tokens)
    data, n_tokens = device_batches(corpus, cfg, args.device)
    n_feat = next(iter(tcs.values())).num_latents
    print(f"model: {sources[0]}; transcoders: {sources[1]} ({len(tcs)} layers × {n_feat} features); "
          f"corpus: {sources[2]} ({n_tokens} tokens, {len(data)} batches); device {args.device}, "
          f"{torch.get_num_threads()} threads")

    run_bare(model, data[:2])  # warm-up
    run_encode(model, tcs, data[:2])
    run_pass(model, tcs, Corpus.from_lists([0], [corpus.tokens[:64]]), cfg, progress=False)
    res = None

    def collect() -> None:
        nonlocal res
        res = run_pass(model, tcs, corpus, cfg, progress=False)

    runs = {"bare": lambda: run_bare(model, data), "encode": lambda: run_encode(model, tcs, data), "collect": collect}
    names = list(runs)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for r in range(args.repeats):
        for name in names[r % 3:] + names[: r % 3]:  # rotate the order: no kind always first
            w, c = timed(runs[name], args.device)
            wall[name].append(w)
            cpu[name].append(c)
    t0 = time.perf_counter()
    vocab, limit = vocab_for(model, tok, corpus)
    for layer in res.layers:
        stats, examples = layer_tables(res, layer, model, corpus, cfg, vocab, limit)
        sum(b.num_rows for b in examples)
    finalize = time.perf_counter() - t0
    med_w = {k: statistics.median(v) for k, v in wall.items()}
    med_c = {k: statistics.median(v) for k, v in cpu.items()}
    for k in names:
        print(f"{k:8s} median wall {med_w[k]:7.3f} s ({n_tokens / med_w[k]:9.0f} tok/s), CPU {med_c[k]:7.3f} s; "
              f"wall runs {[round(t, 3) for t in wall[k]]}")
    print(f"finalize (tables, once per run): {finalize:.3f} s")
    print(f"encode-only / bare forward (CPU): {med_c['encode'] / med_c['bare']:.2f}  (what the transcoder encodes cost at this shape)")
    print(f"collect / bare forward (CPU): {med_c['collect'] / med_c['bare']:.2f}")
    print_floor()

    def per_repeat(t: dict[str, list[float]]) -> list[float]:
        return [c / e for c, e in zip(t["collect"], t["encode"])]

    print(f"collect / encode-only, wall: median of per-repeat ratios {statistics.median(per_repeat(wall)):.2f}, "
          f"ratio of medians {med_w['collect'] / med_w['encode']:.2f}; per repeat {[round(x, 2) for x in per_repeat(wall)]}")
    ratio = statistics.median(per_repeat(cpu))  # adjacent runs, CPU seconds: the least load-dependent figure
    print(f"RATIO collect / encode-only (CPU s, median of {args.repeats} per-repeat ratios {[round(x, 2) for x in per_repeat(cpu)]}): "
          f"{ratio:.2f}  (target <= 1.15: {'PASS' if ratio <= 1.15 else 'FAIL'}; the bookkeeping on top of the encodes)")

if __name__ == "__main__":
    main()
