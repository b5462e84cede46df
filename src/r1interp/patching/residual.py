"""Residual-stream capture and patching with forward hooks on the decoder layers.

"Residual at layer L" is the output of decoder block L (the stream after its attention and MLP
have been added). Patching runs many (layer, positions) interventions as rows of one batch: the
corrupted sequence is repeated once per intervention and each layer's hook overwrites only the
rows that patch that layer, so a whole layer sweep costs ⌈jobs / batch_size⌉ forwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from r1interp.models import as_batch, decoder_layers, hidden_of, model_device


def logits_at(model: nn.Module, ids: Sequence[int] | Tensor, positions: Sequence[int]) -> Tensor:
    """Logits ``[len(positions), vocab]`` (float32) at some positions; the LM head runs only there."""
    with torch.inference_mode():
        hidden = model.get_decoder()(input_ids=as_batch(ids, model), use_cache=False).last_hidden_state
        pos = torch.as_tensor(list(positions), device=hidden.device, dtype=torch.long)
        return model.get_output_embeddings()(hidden[0, pos]).float()


@dataclass(frozen=True)
class PatchJob:
    """Overwrite decoder-block ``layer``'s output at ``target_pos`` with the source cache at ``source_pos``."""

    layer: int
    target_pos: tuple[int, ...]
    source_pos: tuple[int, ...]


def patched_logit_diffs(
    model: nn.Module,
    target_ids: Sequence[int] | Tensor,
    source_cache: Tensor,
    cache_layers: Sequence[int],
    jobs: Sequence[PatchJob],
    read_pos: int,
    token_a: int,
    token_b: int,
    batch_size: int = 16,
) -> Tensor:
    """``logit[token_a] − logit[token_b]`` at ``read_pos`` of ``target_ids`` under each patch job.

    ``source_cache`` is :func:`residual_cache` of the source run for ``cache_layers``. Returns a
    float32 tensor ``[len(jobs)]``.
    """
    blocks = decoder_layers(model)
    row_of_layer = {layer: i for i, layer in enumerate(cache_layers)}
    device = model_device(model)
    base = as_batch(target_ids, model)
    out: list[Tensor] = []
    for start in range(0, len(jobs), batch_size):
        chunk = jobs[start : start + batch_size]
        by_layer: dict[int, list[tuple[int, PatchJob]]] = defaultdict(list)
        for row, job in enumerate(chunk):
            if job.layer not in row_of_layer:
                raise ValueError(f"layer {job.layer} is not in the source cache layers {list(cache_layers)}")
            if len(job.target_pos) != len(job.source_pos):
                raise ValueError(f"patch job {job} maps {len(job.source_pos)} source to {len(job.target_pos)} target positions")
            by_layer[job.layer].append((row, job))

        def make_hook(layer: int):
            entries = by_layer[layer]
            src = source_cache[row_of_layer[layer]]

            def hook(module, args, output):
                hidden = hidden_of(output)
                for row, job in entries:
                    if job.target_pos:
                        tgt = torch.as_tensor(job.target_pos, device=device)
                        hidden[row, tgt] = src[torch.as_tensor(job.source_pos, device=src.device)].to(hidden.device, hidden.dtype)
                return output

            return hook

        handles = [blocks[layer].register_forward_hook(make_hook(layer)) for layer in by_layer]
        try:
            with torch.inference_mode():
                hidden = model.get_decoder()(input_ids=base.expand(len(chunk), -1), use_cache=False).last_hidden_state
                logits = model.get_output_embeddings()(hidden[:, read_pos]).float()
        finally:
            for h in handles:
                h.remove()
        out.append(logits[:, token_a] - logits[:, token_b])
    return torch.cat(out) if out else torch.zeros(0)
