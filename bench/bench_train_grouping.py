"""Benchmark: train a group of layers from ONE model forward per batch vs one layer per pass.

Measured side by side in one run on the toy reasoner (``results/toy/models/toy-reasoner`` if the
workflow has built it, else a tiny random Qwen2 of the toy's shape), same data and token budget:

- ``grouped``: every layer in one sparsify Trainer (one forward per batch, model stopped after the
  last layer) — the layout of ``transcoders.group_size: 0``;
- ``per_layer``: one training run per layer, each stopping after its own layer (``group_size: 1``);
- ``per_layer_full_model``: one run per layer running the whole model (no early stop) — what a
  naive per-layer job costs; shows what the early stop saves.

Then a FLOP model of the real run (Qwen2.5-1.5B shape: 28 layers, d=1536, d_mlp=8960, 12 heads,
2 KV heads, vocab 151936) for both layouts at the configured token budget, converted to GPU-hours
at an assumed sustained throughput (``--tflops``, default 250 TFLOP/s ≈ 25% of an H100's dense
bf16 peak; an assumption, not a measurement — no GPU was available when this was written).

    python bench/bench_train_grouping.py [--tokens 65536] [--real-tokens 200000000] [--tflops 250]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from r1interp.core.early_stop import run_until_layer  # noqa: E402
from r1interp.core.settings import TrainSettings  # noqa: E402
from r1interp.core.train import train_group  # noqa: E402

TOY_DIR = REPO / "results/toy/models/toy-reasoner"
TOY_SHARD = REPO / "results/toy-reasoner/data/train.parquet"


# ----------------------------------------------------------------------------- measurement


def load_bench_model():
    """The toy reasoner if built, else a random Qwen2 with the toy's shape (same cost)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    if (TOY_DIR / "model.safetensors").is_file():
        from r1interp.models import load_model

        model, _ = load_model(TOY_DIR, "auto", "auto")
        return model, f"toy-reasoner ({TOY_DIR.relative_to(REPO)})"
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=512, hidden_size=64, intermediate_size=256, num_hidden_layers=6, num_attention_heads=4,
                      num_key_value_heads=2, max_position_embeddings=256)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    return Qwen2ForCausalLM(cfg).to(dev).eval().requires_grad_(False), "random Qwen2 with the toy shape (toy not built)"


def bench_dataset(model, tokens: int, seq_len: int):
    from datasets import Dataset

    n_rows = max(1, tokens // seq_len)
    if TOY_SHARD.is_file():
        from r1interp.core.packing import packed_dataset

        return packed_dataset(TOY_SHARD, seq_len, n_rows, seed=0)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (n_rows, seq_len), generator=g)
    return Dataset.from_dict({"input_ids": ids.tolist()}).with_format("torch")


@contextlib.contextmanager
def no_early_stop():
    """Run the whole model (used only to measure what the early stop saves)."""
    import r1interp.core.train as train_mod

    original = train_mod.run_until_layer

    @contextlib.contextmanager
    def full_model(model, _last_layer):
        with run_until_layer(model, model.config.num_hidden_layers - 1):
            pass  # validate, then do not stop
        yield

    train_mod.run_until_layer = full_model
    try:
        yield
    finally:
        train_mod.run_until_layer = original


def timed_train(model, layers_runs: list[list[int]], dataset, settings: TrainSettings, work: Path) -> float:
    t0 = time.perf_counter()
    for i, layers in enumerate(layers_runs):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            train_group(model, layers, dataset, settings, work / f"out{i}", work / f"ckpt{i}")
        shutil.rmtree(work / f"out{i}", ignore_errors=True)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def forward_seconds(model, dataset, batch_size: int, last_layer: int | None) -> float:
    dev = next(model.parameters()).device
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(dataset), batch_size):
            x = dataset[start : start + batch_size]["input_ids"].to(dev)
            if last_layer is None:
                model(x)
            else:
                with run_until_layer(model, last_layer):
                    model(x)
    return time.perf_counter() - t0


# ----------------------------------------------------------------------------- FLOP model (r1interp.costplan's)


def layout_flops(dims, groups: list[list[int]], n_latents: int, k: int, context: int, early_stop: bool) -> float:
    """FLOPs per token for training every layer with the given grouping (the cost plan's FLOP model)."""
    from r1interp.core.flops import forward_flops, grouped_train_flops, tc_train_flops

    if early_stop:
        return grouped_train_flops(dims, groups, n_latents, k, context)
    return sum(forward_flops(dims, context) + len(g) * tc_train_flops(dims.d, n_latents, k) for g in groups)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=65536, help="training tokens per layer in the measured runs")
    ap.add_argument("--real-tokens", type=int, default=None, help="tokens per layer for the estimate (default: config transcoders.train_tokens, or 200M if that is a toy-sized number)")
    ap.add_argument("--expansion-factor", type=int, default=32)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--real-group-size", type=int, default=7)
    ap.add_argument("--tflops", type=float, default=250.0, help="assumed sustained TFLOP/s per GPU")
    ap.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = ap.parse_args()
    torch.manual_seed(0)

    model, what = load_bench_model()
    n_layers = model.config.num_hidden_layers
    settings = TrainSettings(expansion_factor=8, k=16, lr=0.003, train_tokens=args.tokens, seq_len=128, batch_size=16, save_every=10**9)
    dataset = bench_dataset(model, args.tokens, settings.seq_len)
    print(f"model: {what}; {n_layers} layers, d={model.config.hidden_size}; device {next(model.parameters()).device}; "
          f"{len(dataset) * settings.seq_len} tokens per layer; torch threads {torch.get_num_threads()}")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        timed_train(model, [[0]], dataset, settings, work)  # warm-up (allocations, imports)
        grouped = timed_train(model, [list(range(n_layers))], dataset, settings, work)
        per_layer = timed_train(model, [[layer] for layer in range(n_layers)], dataset, settings, work)
        with no_early_stop():
            per_layer_full = timed_train(model, [[layer] for layer in range(n_layers)], dataset, settings, work)
    fwd_full = forward_seconds(model, dataset, settings.batch_size, None)
    fwd_half = forward_seconds(model, dataset, settings.batch_size, n_layers // 2 - 1)

    print("\nmeasured (same data, same settings, one process):")
    print(f"  grouped, one forward per batch for all {n_layers} layers : {grouped:7.2f} s")
    print(f"  one layer per pass, model stopped after that layer   : {per_layer:7.2f} s")
    print(f"  one layer per pass, whole model every time           : {per_layer_full:7.2f} s")
    print(f"  model forward alone: full {fwd_full:.2f} s, up to layer {n_layers // 2 - 1}: {fwd_half:.2f} s")
    ratio = per_layer / grouped
    print(f"\nRATIO per-layer / grouped = {ratio:.2f}x   (per-layer without early stop / grouped = {per_layer_full / grouped:.2f}x)")

    # --------------------------------------------------------------- real-run estimate
    real_tokens = args.real_tokens
    if real_tokens is None:
        import yaml

        cfg = yaml.safe_load((REPO / "config.yaml").read_text()) or {}
        real_tokens = int((cfg.get("transcoders") or {}).get("train_tokens", 0))
        if real_tokens < 10_000_000:
            real_tokens = 200_000_000
    from r1interp.core.dims import ModelDims
    from r1interp.core.flops import forward_flops, tc_train_flops

    shape, context = ModelDims(), 1024
    n_latents = args.expansion_factor * shape.d
    tc = tc_train_flops(shape.d, n_latents, args.k)
    layouts = {
        "all layers in one group (group_size 0)": ([list(range(shape.n_layers))], True),
        f"groups of {args.real_group_size} (group_size {args.real_group_size})": (
            [list(range(s, min(s + args.real_group_size, shape.n_layers))) for s in range(0, shape.n_layers, args.real_group_size)], True),
        "one layer per job, early stop (group_size 1)": ([[layer] for layer in range(shape.n_layers)], True),
        "one layer per job, whole model (naive)": ([[layer] for layer in range(shape.n_layers)], False),
    }
    print(f"\nreal-run estimate: Qwen2.5-1.5B shape, {shape.n_layers} layers, d={shape.d}, d_mlp={shape.d_mlp}, "
          f"{real_tokens:,} tokens per layer, transcoders expansion {args.expansion_factor} (k={args.k}), "
          f"{args.tflops:.0f} TFLOP/s sustained (assumed); FLOP model: r1interp.costplan")
    print(f"  model forward ≈ {forward_flops(shape, context) / 1e9:.2f} GFLOP/token; "
          f"one transcoder step ≈ {tc / 1e9:.3f} GFLOP/token/layer")
    rows = {}
    for name, (groups, early) in layouts.items():
        per_token = layout_flops(shape, groups, n_latents, args.k, context, early)
        total = per_token * real_tokens
        hours = total / (args.tflops * 1e12) / 3600
        rows[name] = {"flops_per_token": per_token, "total_flops": total, "gpu_hours": hours}
        print(f"  {name:45s}: {per_token / 1e9:7.2f} GFLOP/token → {total:.2e} FLOP → {hours:7.2f} GPU-hours")
    best = rows["all layers in one group (group_size 0)"]["gpu_hours"]
    print(f"  estimated ratio one-layer-per-job (early stop) / one group: "
          f"{rows['one layer per job, early stop (group_size 1)']['gpu_hours'] / best:.2f}x; naive / one group: "
          f"{rows['one layer per job, whole model (naive)']['gpu_hours'] / best:.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"measured": {"grouped_s": grouped, "per_layer_s": per_layer, "per_layer_full_model_s": per_layer_full,
                                                      "ratio": ratio, "model": what}, "estimate": rows, "real_tokens": real_tokens}, indent=2))


if __name__ == "__main__":
    main()
