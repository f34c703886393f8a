"""The sum over a kernel's depth taps that turns per-slice 2-D convolutions into a 3-D one."""
from __future__ import annotations

import torch
from torch import Tensor


def sum_depth_taps(taps: Tensor, dtype: torch.dtype | None = None) -> Tensor:
    """Output slice z as the sum over taps t of ``taps[:, z + t - k // 2, ..., t, :]`` (zero past either end): every
    input slice convolved with every depth tap's 2-D kernel in, a 'same' 3-D convolution out.
    (B, D, ..., k, O) -> (B, D, ..., O), in ``dtype`` (default: the taps')."""
    depth, k = taps.shape[1], taps.shape[-2]
    centre = k // 2
    out = taps[..., centre, :].to(dtype or taps.dtype, memory_format=torch.contiguous_format, copy=True)
    for t in range(k):
        shift = t - centre  # output slice z reads input slice z + shift
        if shift == 0 or abs(shift) >= depth:
            continue
        if shift > 0:
            out[:, :depth - shift] += taps[:, shift:, ..., t, :]
        else:
            out[:, -shift:] += taps[:, :depth + shift, ..., t, :]
    return out
