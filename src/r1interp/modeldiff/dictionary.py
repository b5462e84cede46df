"""Compare two transcoder dictionaries by decoder direction.

A feature's decoder row ``W_dec[i]`` is the direction it writes into the residual stream. A
fine-tune that keeps its base's residual basis (R1-distill from Qwen2.5-Math) keeps most of the
base's features as near-identical directions; features whose best cosine match in the other
dictionary is below a threshold are "model-specific". Matching is max-cosine in both directions
(each feature of A against all of B, and vice versa), computed in row chunks so that two
49k-latent dictionaries never need the full 49k × 49k matrix at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import Tensor

log = logging.getLogger(__name__)

MATCH_COLUMNS = ["layer", "feature_id", "model", "other_model", "best_match_feature", "cosine", "shared", "label"]
SUMMARY_COLUMNS = ["layer", "model", "other_model", "n_features", "n_shared", "frac_shared", "mean_cosine", "median_cosine"]


@dataclass
class Matches:
    a_to_b: Tensor  # [n_a] index of the best B feature for each A feature
    cos_a: Tensor  # [n_a]
    b_to_a: Tensor  # [n_b]
    cos_b: Tensor  # [n_b]


def best_matches(W_a: Tensor, W_b: Tensor, chunk: int = 4096) -> Matches:
    """Max decoder-cosine partner of every row of ``W_a`` in ``W_b`` and of every row of ``W_b`` in ``W_a``."""
    if W_a.shape[1] != W_b.shape[1]:
        raise ValueError(f"decoder widths differ: {tuple(W_a.shape)} vs {tuple(W_b.shape)}")
    A = torch.nn.functional.normalize(W_a.float(), dim=1)
    B = torch.nn.functional.normalize(W_b.to(A.device).float(), dim=1)
    a_idx = torch.empty(len(A), dtype=torch.long, device=A.device)
    a_cos = torch.empty(len(A), device=A.device)
    b_cos = torch.full((len(B),), -2.0, device=A.device)
    b_idx = torch.zeros(len(B), dtype=torch.long, device=A.device)
    for start in range(0, len(A), chunk):
        sim = A[start : start + chunk] @ B.T  # [c, n_b]
        a_cos[start : start + chunk], a_idx[start : start + chunk] = sim.max(1)
        col_cos, col_idx = sim.max(0)
        better = col_cos > b_cos
        b_cos = torch.where(better, col_cos, b_cos)
        b_idx = torch.where(better, col_idx + start, b_idx)
    return Matches(a_idx.cpu(), a_cos.cpu(), b_idx.cpu(), b_cos.cpu())


def match_table(
    layer: int,
    name_a: str,
    name_b: str,
    W_a: Tensor,
    W_b: Tensor,
    threshold: float,
    labels_a: dict[int, str] | None = None,
    labels_b: dict[int, str] | None = None,
    chunk: int = 4096,
) -> pd.DataFrame:
    """One row per feature of both dictionaries (see MATCH_COLUMNS); shared = best cosine ≥ threshold."""
    m = best_matches(W_a, W_b, chunk)
    parts = []
    for name, other, idx, cos, labels in ((name_a, name_b, m.a_to_b, m.cos_a, labels_a), (name_b, name_a, m.b_to_a, m.cos_b, labels_b)):
        cos_np = cos.numpy().astype(np.float64)
        labels = labels or {}
        parts.append(
            pd.DataFrame(
                {
                    "layer": np.int64(layer),
                    "feature_id": np.arange(len(cos_np), dtype=np.int64),
                    "model": name,
                    "other_model": other,
                    "best_match_feature": idx.numpy().astype(np.int64),
                    "cosine": cos_np,
                    "shared": cos_np >= threshold,
                    "label": pd.array([labels.get(i) for i in range(len(cos_np))], dtype="string"),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[MATCH_COLUMNS]


def summarise_matches(matches: pd.DataFrame) -> pd.DataFrame:
    """Per (layer, model): feature count, shared count/fraction, mean and median best cosine."""
    g = matches.groupby(["layer", "model", "other_model"], sort=False)
    out = g.agg(
        n_features=("feature_id", "size"),
        n_shared=("shared", "sum"),
        mean_cosine=("cosine", "mean"),
        median_cosine=("cosine", "median"),
    ).reset_index()
    out["frac_shared"] = out["n_shared"] / out["n_features"]
    out = out.astype({"n_features": "int64", "n_shared": "int64"})
    return out[SUMMARY_COLUMNS].sort_values("layer", kind="stable").reset_index(drop=True)
