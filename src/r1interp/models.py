"""Model registry access: load a registered model and read its shape from its own config.

Why: nothing downstream may hard-code layer counts, widths or special tokens; they come from
the model's ``config.json`` and tokenizer, whether the model is a toy dir the workflow built or
a Hugging Face id (real run, read from the local HF cache; no hub access at run time here).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass(frozen=True)
class ModelShape:
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present (the GPU path), else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto`` → bf16 on GPU, fp32 on CPU (bf16 matmuls are slow and lossy on CPU)."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; allowed: {sorted(DTYPES)} or 'auto'")
    return DTYPES[name]


def model_shape(path: str | Path) -> ModelShape:
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(str(path))
    return ModelShape(
        n_layers=cfg.num_hidden_layers,
        d_model=cfg.hidden_size,
        d_mlp=cfg.intermediate_size,
        n_heads=cfg.num_attention_heads,
        n_kv_heads=getattr(cfg, "num_key_value_heads", cfg.num_attention_heads),
        vocab_size=cfg.vocab_size,
    )


def load_model(path: str | Path, device: str = "auto", dtype: str = "auto", **kwargs: Any):
    """Load ``(model, tokenizer)`` in eval mode; ``path`` is a local dir or an HF id."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    model = AutoModelForCausalLM.from_pretrained(
        str(path), torch_dtype=resolve_dtype(dtype, dev), attn_implementation="eager", **kwargs
    ).to(dev)
    model.eval().requires_grad_(False)
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    return model, tokenizer


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder blocks of an HF causal LM (``model.model.layers`` for Qwen2/Llama)."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    layers = getattr(decoder, "layers", None)
    if layers is None:
        raise TypeError(f"{type(model).__name__} has no decoder `.layers`; expected an HF Qwen2/Llama-style model")
    return layers


def hidden_of(output: Any) -> torch.Tensor:
    """A decoder layer's output hidden state (a tensor in transformers 4.57, a tuple before)."""
    return output if isinstance(output, torch.Tensor) else output[0]


def is_oom(err: BaseException) -> bool:
    """True for CUDA/CPU out-of-memory errors, which the analyses skip and log instead of dying."""
    return isinstance(err, torch.OutOfMemoryError) or "out of memory" in str(err).lower()


def free_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def residual_cache(model: nn.Module, ids: Sequence[int] | Tensor, layers: Sequence[int] | None = None) -> Tensor:
    """Decoder-block outputs ``[len(layers), T, d]`` for one sequence (no LM head is run)."""
    blocks = decoder_layers(model)
    layers = list(range(len(blocks))) if layers is None else list(layers)
    store: dict[int, Tensor] = {}

    def make_hook(layer: int):
        def hook(module, args, output) -> None:
            store[layer] = hidden_of(output)[0].detach().clone()

        return hook

    handles = [blocks[layer].register_forward_hook(make_hook(layer)) for layer in layers]
    try:
        with torch.inference_mode():
            model.get_decoder()(input_ids=as_batch(ids, model), use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return torch.stack([store[layer] for layer in layers])


def as_batch(ids: Sequence[int] | Tensor, model: nn.Module) -> Tensor:
    """One sequence as a ``[1, T]`` long tensor on the model's device."""
    t = ids if isinstance(ids, Tensor) else torch.as_tensor(list(ids), dtype=torch.long)
    return t.to(model_device(model), torch.long).reshape(1, -1)
