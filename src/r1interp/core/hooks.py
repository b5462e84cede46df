"""Forward hooks that splice transcoders into a model in place of its MLPs.

Why a hook on ``layers[L].mlp``: the hook's input is exactly the post-norm MLP input the
transcoder was trained on, and returning a tensor from a forward hook replaces the MLP output, so
the rest of the model (residual add, later layers, LM head) runs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import Tensor, nn

from r1interp.artifacts.transcoder import SkipTranscoder
from r1interp.models import decoder_layers

# observer(layer, mlp_input, mlp_output, transcoder_output) — called inside the hook, no grad
Observer = Callable[[int, Tensor, Tensor, Tensor], None]


def mlp_module(model: nn.Module, layer: int) -> nn.Module:
    return decoder_layers(model)[layer].mlp


@contextmanager
def replace_mlp(model: nn.Module, layer: int, transcoder: SkipTranscoder, observer: Observer | None = None) -> Iterator[None]:
    """Within the context, layer ``layer``'s MLP output is the transcoder's output."""

    def hook(_module, inputs, output):
        x = inputs[0]
        y_hat = transcoder(x)
        if observer is not None:
            observer(layer, x, output, y_hat)
        return y_hat.to(output.dtype)

    handle = mlp_module(model, layer).register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def replace_mlps(model: nn.Module, transcoders: dict[int, SkipTranscoder], observer: Observer | None = None) -> Iterator[None]:
    """Replace several MLPs at once (the "full replacement" model when all layers are given)."""
    with ExitStack() as stack:
        for layer, tc in sorted(transcoders.items()):
            stack.enter_context(replace_mlp(model, layer, tc, observer))
        yield


@contextmanager
def zero_mlp(model: nn.Module, layer: int) -> Iterator[None]:
    """Zero-ablate layer ``layer``'s MLP output (the reference for "how much does this MLP matter")."""
    handle = mlp_module(model, layer).register_forward_hook(lambda _m, _i, output: torch.zeros_like(output))
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def capture_mlp_io(model: nn.Module, layer: int, sink: list[tuple[Tensor, Tensor]]) -> Iterator[None]:
    """Append ``(mlp_input, mlp_output)`` of each forward through layer ``layer``'s MLP to ``sink``."""

    def hook(_module, inputs, output):
        sink.append((inputs[0].detach().clone(), output.detach().clone()))

    handle = mlp_module(model, layer).register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
