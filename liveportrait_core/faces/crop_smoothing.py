"""Temporal smoothing of per-frame crop parameters, and the jitter measure used to judge it."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def fill_gaps(values: Tensor, valid: Tensor) -> Tensor:
    """Replace rows where ``valid`` is False by linear interpolation between the nearest valid rows
    (held constant before the first / after the last). (N, k), (N,) bool -> (N, k) float64."""
    if not bool(valid.any()):
        raise ValueError("no valid row to fill from")
    values = values.double()
    t = torch.arange(values.shape[0], dtype=torch.float64, device=values.device)
    known_t = t[valid]
    pos = torch.searchsorted(known_t, t).clamp(1, max(known_t.shape[0] - 1, 1))
    lo, hi = pos - 1, pos.clamp_max(known_t.shape[0] - 1)
    t0, t1 = known_t[lo], known_t[hi]
    w = torch.where(t1 > t0, ((t - t0) / (t1 - t0).clamp_min(1e-12)).clamp(0, 1), torch.zeros_like(t))
    known = values[valid]
    return known[lo] + (known[hi] - known[lo]) * w[:, None]


def gaussian_smooth(values: Tensor, sigma: float) -> Tensor:
    """Centred Gaussian smoothing along the frame axis.

    The ends are padded by point reflection (``2·x[0] − x[k]``), so a steady motion passes unchanged
    right up to the first and last frame (clips shorter than the kernel are padded by repetition).

    Args:
        values: (N, k) series (float64 recommended).
        sigma: standard deviation in frames; 0 returns the input unchanged.

    Returns:
        (N, k) in the dtype of ``values``.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0 or values.shape[0] < 2:
        return values
    radius = max(1, math.ceil(3 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=values.dtype, device=values.device)
    kernel = torch.exp(-0.5 * (x / sigma) ** 2)
    kernel = (kernel / kernel.sum()).expand(values.shape[1], 1, -1)
    series = values.T[None]  # (1, k, N)
    if values.shape[0] > radius:
        head = 2 * series[..., :1] - series[..., 1:radius + 1].flip(-1)
        tail = 2 * series[..., -1:] - series[..., -radius - 1:-1].flip(-1)
        padded = torch.cat((head, series, tail), dim=-1)
    else:
        padded = F.pad(series, (radius, radius), mode="replicate")
    return F.conv1d(padded, kernel, groups=values.shape[1])[0].T


def jitter(centres: Tensor) -> float:
    """Mean length of the second difference ``c[t+1] − 2c[t] + c[t−1]`` of (N, 2) positions (pixels):
    0 for still or steadily moving crops, large for shaking ones."""
    if centres.shape[0] < 3:
        return 0.0
    c = centres.double()
    return float((c[2:] - 2 * c[1:-1] + c[:-2]).norm(dim=-1).mean())
