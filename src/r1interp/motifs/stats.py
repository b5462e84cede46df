"""Z-scores and significance profiles with circuit-motifs' formulas (Milo et al. 2004).

``Z = (real − mean_null) / std_null`` with the population std (``ddof=0``); where the null std
is 0, ``Z = ±inf`` if the real count differs from the null mean and ``0`` if it equals it.
``SP = Z / ‖Z‖`` after capping ±inf at ±100, so one degenerate class cannot zero the rest;
an all-zero Z gives an all-zero SP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SP_CAP = 100.0


@dataclass(frozen=True)
class ZResult:
    real: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    z: np.ndarray
    sp: np.ndarray
    n_samples: int


def zscores(real: np.ndarray, null: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(z, mean, std)`` of ``real [K]`` against ``null [n_samples, K]``."""
    real = np.asarray(real, dtype=np.float64)
    null = np.asarray(null, dtype=np.float64)
    if null.ndim != 2 or null.shape[1] != real.shape[0]:
        raise ValueError(f"null must be [n_samples, {real.shape[0]}], got {null.shape}")
    if null.shape[0] == 0:
        raise ValueError("need at least one null sample")
    mean = null.mean(axis=0)
    std = null.std(axis=0)
    diff = real - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, diff / np.where(std > 0, std, 1.0), np.where(diff != 0, np.sign(diff) * np.inf, 0.0))
    return z, mean, std


def significance_profile(z: np.ndarray, cap: float = SP_CAP) -> np.ndarray:
    """Unit-length profile of ``z`` (±inf capped at ±``cap``; zero vector stays zero)."""
    z = np.asarray(z, dtype=np.float64)
    zc = np.where(np.isinf(z), np.sign(z) * cap, z)
    norm = float(np.sqrt(np.sum(zc**2)))
    return np.zeros_like(zc) if norm == 0 else zc / norm


def z_profile(real: np.ndarray, null: np.ndarray, sp_mask: np.ndarray | None = None) -> ZResult:
    """Z and SP together; ``sp_mask`` limits the SP to some classes (others get NaN)."""
    z, mean, std = zscores(real, null)
    if sp_mask is None:
        sp = significance_profile(z)
    else:
        sp = np.full(z.shape, np.nan)
        sp[sp_mask] = significance_profile(z[sp_mask])
    return ZResult(np.asarray(real, dtype=np.float64), mean, std, z, sp, int(np.asarray(null).shape[0]))
