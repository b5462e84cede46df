"""The (token, feature, value) triples a collection pass folds in, on both of their paths."""

import torch

from r1interp.features.accumulate import active_entries
from r1interp.artifacts.transcoder import SkipTranscoder


def reference(idx, vals):
    active = vals > 0
    return active.nonzero(as_tuple=True)[0], idx[active], vals[active].float()


@torch.no_grad()
def topk_of(x, tc):
    pre = tc.pre_acts(x)
    vals, idx = pre.topk(tc.k, dim=-1, sorted=False)
    return idx, vals


def test_all_fired_and_some_silent_match_the_masked_gather():
    g = torch.Generator().manual_seed(0)
    d, f, k = 8, 32, 4
    tc = SkipTranscoder(torch.randn(f, d, generator=g), torch.full((f,), 5.0), torch.randn(f, d, generator=g),
                        torch.zeros(d), None, k)
    x = torch.randn(50, d, generator=g)
    idx, vals = topk_of(x, tc)
    assert bool((vals > 0).all())  # large encoder bias: every selected latent fires (the fast path)
    for got, want in zip(active_entries(idx, vals), reference(idx, vals)):
        assert torch.equal(got, want)
    with torch.no_grad():
        tc.b_enc.fill_(-2.0)  # most pre-activations clip to 0: rows with fewer than k firing latents
    idx, vals = topk_of(x, tc)
    assert not bool((vals > 0).all()) and bool((vals > 0).any())
    for got, want in zip(active_entries(idx, vals), reference(idx, vals)):
        assert torch.equal(got, want)
