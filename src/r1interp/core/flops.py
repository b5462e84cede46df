"""The FLOP model of every GPU stage (pure functions of widths and token counts).

Written out (per token unless said otherwise; 2 FLOPs per multiply-add):

- model forward: ``2 × block_params`` per decoder block + attention scores ``2 × context × d``
  (QK^T and AV over half the context on average) — ≈ 2 × params per token; the LM head
  ``2 × vocab × d`` only where logits are needed. A grouped training pass stops after the
  group's last layer (``early stop``): ``(last + 1)`` blocks.
- transcoder encode: ``2 × d × n_latents`` (dense encoder) + skip ``2 × d²``;
  decode: ``2 × k × d`` (k active rows).
- transcoder training step: encode + decode forward, backward of the decoder (``4 k d``), the
  encoder's backward over the k active rows (``4 k d``) and the skip (``4 d²``):
  ``2 d n + 2 d² + 2 k d + 8 k d + 4 d²``.
- evaluation of one layer: a clean and a replaced forward + one encode/decode.
- activation collection: one forward (no head) + every layer's encode/decode.
- attribution graph: one forward with every transcoder encoded at ``context`` positions, then
  ``ceil((max_feature_nodes + max_n_logits) / batch_size)`` backward passes, each over
  ``batch_size × context`` tokens; a backward to the inputs only costs ≈ one forward of the frozen
  network (one matmul per linear instead of two) — MLPs are replaced by the linear skip path and
  the frozen transcoders, so a block costs its attention projections + skip; each row's edges to
  the active features cost ``2 × k × d`` per (layer, position).
- generation: one forward per generated token at the average context (decode; memory-bound, so
  its utilisation is low, not its FLOPs).
"""

from __future__ import annotations

import math

from r1interp.core.dims import ModelDims


def forward_flops(dims: ModelDims, context: int, n_blocks: int | None = None, head: bool = True) -> float:
    """Model forward FLOPs per token through ``n_blocks`` blocks (all by default)."""
    n = dims.n_layers if n_blocks is None else n_blocks
    return n * dims.block_flops(context) + (dims.head_flops() if head else 0.0)


def tc_encode_flops(d: int, n_latents: int) -> float:
    return 2.0 * d * n_latents + 2.0 * d * d


def tc_decode_flops(d: int, k: int) -> float:
    return 2.0 * k * d


def tc_train_flops(d: int, n_latents: int, k: int) -> float:
    """One training step of a TopK skip transcoder, per token (module docstring)."""
    return 2.0 * d * n_latents + 2.0 * d * d + 2.0 * k * d + 8.0 * k * d + 4.0 * d * d


def grouped_train_flops(dims: ModelDims, groups: list[list[int]], n_latents: int, k: int, context: int) -> float:
    """Per training token, every group of a model: model forward up to the group's last layer
    (early stop, no head) + each layer's transcoder step."""
    total = 0.0
    for g in groups:
        total += forward_flops(dims, context, max(g) + 1, head=False) + len(g) * tc_train_flops(dims.d, n_latents, k)
    return total


def eval_layer_flops(dims: ModelDims, n_latents: int, k: int, context: int) -> float:
    """Per eval token of one layer: clean + replaced forward, one encode/decode."""
    return 2.0 * forward_flops(dims, context) + tc_encode_flops(dims.d, n_latents) + tc_decode_flops(dims.d, k)


def features_flops(dims: ModelDims, n_latents: int, k: int, context: int) -> float:
    """Per collected token: one forward (no head) and every layer's encode/decode."""
    return forward_flops(dims, context, head=False) + dims.n_layers * (tc_encode_flops(dims.d, n_latents) + tc_decode_flops(dims.d, k))


def attribution_backward_block_flops(dims: ModelDims, context: int) -> float:
    """Backward to the inputs of one frozen replacement block, per token: attention projections
    (q, k, v, o) + the skip path, + attention scores."""
    kv = 2 * dims.n_kv_heads * dims.head_dim
    attn = 2 * dims.d * dims.d + dims.d * kv
    return 2.0 * (attn + dims.d * dims.d) + 2.0 * context * dims.d


def graph_flops(dims: ModelDims, n_latents: int, k: int, context: int, max_feature_nodes: int, max_n_logits: int,
                batch_size: int) -> tuple[float, int]:
    """FLOPs of one attribution graph at ``context`` tokens and its number of backward passes."""
    rows = max_feature_nodes + max_n_logits
    passes = math.ceil(rows / batch_size)
    setup = context * (forward_flops(dims, context) + dims.n_layers * (tc_encode_flops(dims.d, n_latents) + tc_decode_flops(dims.d, k)))
    backward = passes * batch_size * context * dims.n_layers * attribution_backward_block_flops(dims, context)
    edges = rows * context * dims.n_layers * 2.0 * k * dims.d
    return setup + backward + edges, passes


def generation_flops(dims: ModelDims, prompt: int, new_tokens: int) -> float:
    """One sampled generation: a forward per new token at the mean context."""
    return new_tokens * forward_flops(dims, prompt + new_tokens // 2) + prompt * forward_flops(dims, prompt)
