"""Logit lens of decoder directions: which output tokens each feature pushes up or down.

Choice (documented because variants disagree): ``logits_f = (W_dec[f] ⊙ g) @ W_U^T`` where ``g`` is
the final RMSNorm's *weight* and ``W_U`` the unembedding. The norm's data-dependent 1/rms scale is
a positive per-token scalar, so it changes magnitudes but not the ranking; no bias, no
mean-centring, and no downstream layers (the direct path only), as in common logit-lens practice
for SAE/transcoder decoder directions. Only ids the tokenizer knows are ranked (Qwen pads its
embedding matrix past the vocabulary).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def unembedding(model: nn.Module) -> tuple[Tensor, Tensor | None]:
    """``(W_U [V, d], final norm weight [d] or None)`` of a HF causal LM."""
    w_u = model.get_output_embeddings().weight
    norm = getattr(getattr(model, "model", model), "norm", None)
    g = getattr(norm, "weight", None) if norm is not None else None
    return w_u, g


@torch.no_grad()
def logit_lens(W_dec: Tensor, W_U: Tensor, norm_weight: Tensor | None, n: int,
               vocab_limit: int | None = None, chunk_elems: int = 1 << 26) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(top_ids, top_vals, bottom_ids, bottom_vals)``, each ``[F, n]``, best first.

    Chunked over features so the ``[F, V]`` logit matrix never exists at once.
    """
    w_u = W_U[:vocab_limit] if vocab_limit else W_U
    n = min(n, w_u.shape[0])
    dev = W_dec.device
    w_u = w_u.to(device=dev, dtype=torch.float32)
    g = norm_weight.to(device=dev, dtype=torch.float32) if norm_weight is not None else None
    step = max(1, chunk_elems // max(1, w_u.shape[0]))
    outs: list[tuple[Tensor, ...]] = []
    for i in range(0, W_dec.shape[0], step):
        d = W_dec[i:i + step].float()
        if g is not None:
            d = d * g
        logits = d @ w_u.T
        top = logits.topk(n, dim=1)
        bottom = logits.topk(n, dim=1, largest=False)
        outs.append((top.indices, top.values, bottom.indices, bottom.values))
    if not outs:
        empty_i, empty_v = torch.zeros(0, n, dtype=torch.long), torch.zeros(0, n)
        return empty_i, empty_v, empty_i, empty_v
    return tuple(torch.cat([o[k] for o in outs]).cpu() for k in range(4))  # type: ignore[return-value]
