"""Helpers shared by test_transcoders*.py, test_evaluate*.py and test_sweep*.py (not a test module)."""

from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from r1interp.core.settings import TrainSettings

# small enough for a few seconds of CPU training on the tiny fixture model (hidden 32, 3 layers)
FAST = TrainSettings(expansion_factor=4, k=8, lr=0.01, train_tokens=64 * 48, seq_len=64, batch_size=8, save_every=2,
                     auxk_alpha=0.03, dead_feature_threshold=512)
# 12 steps, a checkpoint every 2: enough room to kill a run in the middle
RESUME = TrainSettings(**{**FAST.__dict__, "train_tokens": 64 * 96})


@contextmanager
def torch_threads(n: int):
    """Pin the thread count (bitwise-reproducible CPU reductions across processes)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class ReluSkipMLP(nn.Module):
    """An MLP whose function is *exactly* a skip transcoder with k = n_latents:
    relu(x W1^T + b1) W2 + b2 + x A^T. Installing it as ``layers[L].mlp`` gives a model for which
    an exact transcoder exists (same weights), so replacement metrics must equal the baseline."""

    def __init__(self, d: int, n: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W1 = nn.Parameter(torch.randn(n, d, generator=g) / d**0.5)
        self.b1 = nn.Parameter(torch.randn(n, generator=g) * 0.1)
        self.W2 = nn.Parameter(torch.randn(n, d, generator=g) / n**0.5)
        self.b2 = nn.Parameter(torch.randn(d, generator=g) * 0.1)
        self.A = nn.Parameter(torch.randn(d, d, generator=g) / d**0.5)

    def forward(self, x):
        return torch.relu(x @ self.W1.T + self.b1) @ self.W2 + self.b2 + x @ self.A.T

    def as_transcoder(self):
        from r1interp.artifacts.transcoder import SkipTranscoder

        p = [t.detach().clone() for t in (self.W1, self.b1, self.W2, self.b2, self.A)]
        return SkipTranscoder(*p, k=self.W1.shape[0]).requires_grad_(False)


def install_exact_mlps(model: nn.Module, layers: list[int], n_latents: int = 48) -> dict:
    """Replace the MLPs of ``layers`` with ReluSkipMLP; return ``{layer: exact transcoder}``."""
    d = model.config.hidden_size
    out = {}
    for layer in layers:
        mlp = ReluSkipMLP(d, n_latents, seed=100 + layer).requires_grad_(False)
        model.model.layers[layer].mlp = mlp
        out[layer] = mlp.as_transcoder()
    return out


def random_transcoder(d: int, n: int, k: int, seed: int, scale: float = 1.0):
    from r1interp.artifacts.transcoder import SkipTranscoder

    g = torch.Generator().manual_seed(seed)
    return SkipTranscoder(
        torch.randn(n, d, generator=g) * scale, torch.zeros(n), torch.randn(n, d, generator=g) * scale,
        torch.zeros(d), torch.randn(d, d, generator=g) * scale, k,
    ).requires_grad_(False)
