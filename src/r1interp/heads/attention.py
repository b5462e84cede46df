"""Per-layer attention capture that never holds more than one layer's pattern.

Why hooks and not ``output_attentions=True``: the latter keeps every layer's ``[heads, T, T]``
pattern alive until the forward ends (28 × 12 × T² floats at 1.5B). A forward hook on each
attention module reduces its pattern to one score per head as soon as that layer has run, so the
peak is a single layer's pattern. The model must run eager attention (``load_model`` does), the
only implementation that returns the weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from r1interp.heads.scores import answer_to_reasoning_attention
from r1interp.models import decoder_layers

log = logging.getLogger(__name__)

Reducer = Callable[[Tensor], Tensor]  # [heads, T, T] -> anything small


def reduce_attention(model: nn.Module, input_ids: Tensor, reducer: Reducer, layers: Sequence[int] | None = None) -> dict[int, Tensor]:
    """Run the decoder once on ``input_ids [1, T]``; return ``{layer: reducer(pattern)}``.

    Only the decoder runs (no LM head: ``T × vocab`` logits are the largest tensor of a long
    trace and this analysis does not need them).
    """
    blocks = decoder_layers(model)
    layers = list(range(len(blocks))) if layers is None else list(layers)
    out: dict[int, Tensor] = {}

    def make_hook(layer: int):
        def hook(module: nn.Module, args, output) -> None:
            weights = output[1] if isinstance(output, tuple) and len(output) > 1 else None
            if weights is None:
                raise RuntimeError(
                    "attention weights were not returned; load the model with attn_implementation='eager' "
                    "(r1interp.models.load_model does)"
                )
            out[layer] = reducer(weights[0]).detach()

        return hook

    handles = [blocks[layer].self_attn.register_forward_hook(make_hook(layer)) for layer in layers]
    try:
        with torch.inference_mode():
            model.get_decoder()(input_ids=input_ids, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return out


def trace_head_scores(model: nn.Module, ids: np.ndarray, segment: np.ndarray) -> Tensor:
    """``[layers, heads]`` answer→reasoning attention scores of one trace."""
    device = next(model.parameters()).device
    seg = torch.as_tensor(segment, device=device)
    input_ids = torch.as_tensor(ids, dtype=torch.long, device=device)[None]
    per_layer = reduce_attention(model, input_ids, lambda w: answer_to_reasoning_attention(w, seg))
    return torch.stack([per_layer[layer].cpu() for layer in sorted(per_layer)])
