"""Run a decoder-only model only up to a given layer.

Why: sparsify's Trainer calls ``model(x)`` and trains from forward hooks; with the FVU loss the
logits are thrown away, so every layer after the last hooked MLP (and the LM head, ~0.5 GFLOP per
token at vocab 151k) is wasted compute. A forward hook on the last needed decoder block raises a
private exception that a wrapper around ``model.forward`` swallows, so the Trainer sees a normal
call that returned ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn

from r1interp.models import decoder_layers


class _StopForward(Exception):
    """Raised after the last needed block; never escapes :func:`run_until_layer`."""


@contextmanager
def run_until_layer(model: nn.Module, last_layer: int) -> Iterator[None]:
    """Within the context, ``model(...)`` stops after block ``last_layer`` and returns None."""
    layers = decoder_layers(model)
    if not 0 <= last_layer < len(layers):
        raise IndexError(f"last_layer {last_layer} outside 0..{len(layers) - 1}")

    def stop(_module, _inputs, _output):
        raise _StopForward

    original = model.forward

    def forward(*args, **kwargs):
        try:
            return original(*args, **kwargs)
        except _StopForward:
            return None

    handle = layers[last_layer].register_forward_hook(stop)
    model.forward = forward  # instance attribute shadows the bound method; nn.Module.__call__ uses it
    try:
        yield
    finally:
        handle.remove()
        del model.forward
