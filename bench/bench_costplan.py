"""Measure the throughput table of the cost plan on this machine's GPU (TFLOP/s per kind of work).

For each kind in r1interp.core.costplan.UTILISATION it times real work at the real widths
(Qwen2.5-1.5B shape: d=1536, d_mlp=8960, 12/2 heads, random init, ``--layers`` blocks) and divides
the FLOPs the cost plan's model assigns to it (r1interp.core.flops) by the measured seconds:

- forward:     bf16 forward passes of batches of ``--seq`` tokens (no head);
- train:       grouped transcoder training steps (forward + one TopK skip transcoder per layer);
- attribution: batch-of-4 backward passes to the inputs through the frozen blocks;
- generate:    token-by-token decoding with a KV cache, 96 sequences at once.

Writes results/costplan/throughput.json ({"gpu": <costplan name>, "tflops": {kind: value}}), which
``python -m r1interp.costplan`` uses in place of the stated utilisation when the GPU name matches.

    python bench/bench_costplan.py --gpu-name "H100 SXM 80GB" [--layers 4 --seconds 20]

On a CPU it runs (tiny sizes with --smoke) but its numbers are not a GPU's; it refuses to write a
GPU name it did not run on unless --force.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from r1interp.core import flops as F
from r1interp.core.dims import ModelDims


def make_model(dims: ModelDims, device, dtype):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(hidden_size=dims.d, intermediate_size=dims.d_mlp, num_hidden_layers=dims.n_layers,
                      num_attention_heads=dims.n_heads, num_key_value_heads=dims.n_kv_heads, vocab_size=dims.vocab,
                      max_position_embeddings=8192, tie_word_embeddings=dims.tied)
    torch.manual_seed(0)
    return Qwen2ForCausalLM(cfg).to(device=device, dtype=dtype).eval()


def timed(fn, seconds: float, sync) -> tuple[int, float]:
    fn()
    sync()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    sync()
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gpu-name", required=True, help="a name of r1interp.core.costplan.GPUS, e.g. 'H100 SXM 80GB'")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--expansion", type=int, default=64)
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--smoke", action="store_true", help="tiny widths (CPU check of the script itself)")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--out", type=Path, default=Path("results/costplan/throughput.json"))
    args = ap.parse_args()
    from r1interp.core.costplan import GPUS

    if args.gpu_name not in GPUS:
        raise SystemExit(f"--gpu-name {args.gpu_name!r} unknown; allowed: {sorted(GPUS)}")
    cuda = torch.cuda.is_available()
    if not cuda and not args.force:
        raise SystemExit("no CUDA device: these would not be GPU numbers (use --force --smoke to check the script)")
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    dims = ModelDims(n_layers=args.layers) if not args.smoke else ModelDims(n_layers=2, d=64, d_mlp=256, n_heads=4, n_kv_heads=2, vocab=512)
    seq, batch = (args.seq, args.batch) if not args.smoke else (64, 4)
    model = make_model(dims, device, dtype)
    ids = torch.randint(0, dims.vocab, (batch, seq), device=device)
    out: dict[str, float] = {}

    with torch.no_grad():
        n, s = timed(lambda: model.model(input_ids=ids), args.seconds, sync)
    out["forward"] = n * batch * seq * F.forward_flops(dims, seq, head=False) / s / 1e12

    from sparsify import SparseCoder, SparseCoderConfig

    n_lat = args.expansion * dims.d
    coders = [SparseCoder(dims.d, SparseCoderConfig(num_latents=n_lat, k=args.k, transcode=True, skip_connection=True),
                          device=device, dtype=torch.float32) for _ in range(dims.n_layers)]
    params = [p for c in coders for p in c.parameters()]
    opt = torch.optim.Adam(params, lr=1e-4)
    acts: dict[int, torch.Tensor] = {}
    hooks = [blk.mlp.register_forward_hook(lambda m, i, o, j=j: acts.__setitem__(j, (i[0].detach(), o.detach())))
             for j, blk in enumerate(model.model.layers)]

    def train_step():
        with torch.no_grad():
            model.model(input_ids=ids)
        loss = 0.0
        for j, c in enumerate(coders):
            x, y = acts[j]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=cuda):
                loss = loss + c(x.flatten(0, 1).float(), y.flatten(0, 1).float()).fvu
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    n, s = timed(train_step, args.seconds, sync)
    for h in hooks:
        h.remove()
    out["train"] = n * batch * seq * F.grouped_train_flops(dims, [list(range(dims.n_layers))], n_lat, args.k, seq) / s / 1e12

    b4 = ids[:4]
    emb = model.model.embed_tokens(b4).detach().requires_grad_(True)

    def attribution_pass():
        h = model.model(inputs_embeds=emb).last_hidden_state
        (g,) = torch.autograd.grad(h.float().pow(2).sum(), emb)
        return g

    n, s = timed(attribution_pass, args.seconds, sync)
    # forward + backward through full blocks: counted as a forward and a backward of the frozen net
    per_pass = 4 * seq * (F.forward_flops(dims, seq, head=False) + dims.n_layers * F.attribution_backward_block_flops(dims, seq))
    out["attribution"] = n * per_pass / s / 1e12

    prompt = torch.randint(0, dims.vocab, (min(96, 4 * batch), 32), device=device)
    new = 64 if args.smoke else 256
    with torch.no_grad():
        n, s = timed(lambda: model.generate(prompt, max_new_tokens=new, min_new_tokens=new, do_sample=False, pad_token_id=0),
                     args.seconds, sync)
    out["generate"] = n * prompt.shape[0] * F.generation_flops(dims, 32, new) / s / 1e12

    peak = GPUS[args.gpu_name]
    for kind, tf in out.items():
        print(f"{kind:12s} {tf:8.2f} TFLOP/s  ({tf / peak:.1%} of {args.gpu_name}'s {peak:.0f} peak)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"gpu": args.gpu_name if cuda else f"cpu (not {args.gpu_name})",
                                    "device": torch.cuda.get_device_name() if cuda else "cpu",
                                    "widths": vars(dims), "tflops": out}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
