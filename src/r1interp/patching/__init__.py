"""Activation patching: clean/corrupted reasoning-trace pairs, residual patched one layer at a time."""

from r1interp.patching.effects import normalised_logit_diff
from r1interp.patching.residual import PatchJob, patched_logit_diffs

__all__ = ["PatchJob", "normalised_logit_diff", "patched_logit_diffs"]
