"""How often each latent fires on held-out tokens (for the dead-latent fraction).

One model forward per batch serves every pilot layer (the model stops after the last one), and
the encoder runs in token chunks so that a [tokens, n_latents] pre-activation never exceeds
``chunk_elems`` elements (196k latents × 32k tokens would be 25 GB).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.core.batches import EvalBatch
from r1interp.core.early_stop import run_until_layer
from r1interp.core.hooks import mlp_module


def fired_indices(tc: SkipTranscoder, x: Tensor) -> Tensor:
    """Latent ids active on tokens ``x`` [N, d] (repeated per token): top-k of relu pre-activations, > 0."""
    vals, idx = tc.pre_acts(x).topk(min(tc.k, tc.num_latents), dim=-1, sorted=False)
    return idx[vals > 0]


class FiringCounts:
    """Per-latent firing counts and the number of tokens seen, for one transcoder."""

    def __init__(self, num_latents: int, device: torch.device | str = "cpu") -> None:
        self.counts = torch.zeros(num_latents, dtype=torch.long, device=device)
        self.n_tokens = 0

    def add(self, latent_ids: Tensor, n_tokens: int) -> None:
        self.counts += torch.bincount(latent_ids.flatten().to(self.counts.device), minlength=len(self.counts))
        self.n_tokens += int(n_tokens)

    def result(self) -> dict:
        if self.n_tokens == 0:
            raise ValueError("no tokens seen")
        return {"dead_pct": 100.0 * float((self.counts == 0).float().mean()), "dead_tokens": self.n_tokens}


@torch.no_grad()
def measure_firing(model: nn.Module, transcoders: dict[int, SkipTranscoder], batches: Iterable[EvalBatch],
                   chunk_elems: int = 1 << 27) -> dict[int, dict]:
    """``{layer: {"dead_pct", "dead_tokens"}}`` over the non-padding tokens of ``batches``."""
    dev = next(model.parameters()).device
    counts = {layer: FiringCounts(tc.num_latents, dev) for layer, tc in transcoders.items()}
    mask: dict[str, Tensor] = {}

    def make_hook(layer: int):
        tc = transcoders[layer]
        rows = max(1, chunk_elems // tc.num_latents)

        def hook(_module, inputs):
            x = inputs[0][mask["m"]]
            for start in range(0, x.shape[0], rows):
                chunk = x[start : start + rows]
                counts[layer].add(fired_indices(tc, chunk), chunk.shape[0])

        return hook

    handles = [mlp_module(model, layer).register_forward_pre_hook(make_hook(layer)) for layer in transcoders]
    try:
        with run_until_layer(model, max(transcoders)):
            for batch in batches:
                mask["m"] = batch.attention_mask.bool().to(dev)
                model(input_ids=batch.input_ids.to(dev), attention_mask=batch.attention_mask.to(dev))
    finally:
        for h in handles:
            h.remove()
    return {layer: c.result() for layer, c in counts.items()}
