"""Two of the warping module's heads computed as one 2-D convolution over a volume's depth slices.

The 7x7x7 mask head (142 -> 22 channels) and the occlusion head (a 7x7 2-D convolution over depth
flattened into 2,272 channels) are both sums, over depth, of 2-D convolutions of single depth slices.
Convolving every slice with all the 2-D kernels at once and then adding the right slices gives the same
result from one large 2-D convolution, the shape matrix units run best (AMX in bf16; figures in
``docs/performance.md``). The slices of a channels-last volume are NHWC images, so no copy is made of the input,
and the partial sums are added in float32.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .depth_taps import sum_depth_taps

AMX_TILE = 32  # bf16 AMX tile rows: output counts are zero-padded to a multiple of this (the mask head: 154 -> 160)


def convolve_depth_slices(x: Tensor, kernels: Tensor, padding: int) -> Tensor:
    """Every depth slice of ``x`` convolved with every kernel: (B, C, D, H, W), (N, C, k, k) -> (B, D, H, W, N)."""
    b, c, d, h, w = x.shape
    n = kernels.shape[0]
    kernels = F.pad(kernels, (0, 0, 0, 0, 0, 0, 0, -n % AMX_TILE))
    if x.is_contiguous(memory_format=torch.channels_last_3d):
        kernels = kernels.contiguous(memory_format=torch.channels_last)
    out = F.conv2d(x.transpose(1, 2).reshape(b * d, c, h, w), kernels, padding=padding)
    return out.permute(0, 2, 3, 1)[..., :n].unflatten(0, (b, d))


def conv3d_by_depth_taps(x: Tensor, conv: nn.Conv3d) -> Tensor:
    """``conv(x)`` for a stride-1 Conv3d with a cubic kernel and 'same' padding, summed in float32.

    Output slice z is the sum over the kernel's depth taps t of input slice z + t - k//2 convolved with the
    2-D kernel at depth t. (B, C, D, H, W) -> float32 (B, O, D, H, W), channels-last.
    """
    k, outputs = conv.kernel_size[0], conv.out_channels
    kernels = conv.weight.transpose(0, 2).transpose(1, 2).flatten(0, 1)  # (k * O, C, k, k), tap-major
    taps = convolve_depth_slices(x, kernels, k // 2).unflatten(-1, (k, outputs))  # (B, D, H, W, k, O)
    out = sum_depth_taps(taps, torch.float32)  # (B, D, H, W, O)
    if conv.bias is not None:
        out += conv.bias.float()
    return out.permute(0, 4, 1, 2, 3)


def conv2d_over_flattened_depth(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """``conv(x.flatten(1, 2))``: a 2-D convolution whose input channels are a volume's (channel, depth) pairs.

    Each slice is convolved with the kernels of every depth (D times the work, in one well-shaped
    convolution instead of one with thousands of input channels and a copy to flatten a channels-last
    volume), then slice d keeps its own depth's result. (B, C, D, H, W) -> float32 (B, O, H, W).
    """
    b, c, depth = x.shape[:3]
    outputs = conv.out_channels
    kernels = conv.weight.unflatten(1, (c, depth)).permute(2, 0, 1, 3, 4).flatten(0, 1)  # (D * O, C, k, k)
    per_slice = convolve_depth_slices(x, kernels, conv.padding[0]).unflatten(-1, (depth, outputs))
    out = per_slice.diagonal(dim1=1, dim2=4).float().sum(-1)  # (B, H, W, O)
    if conv.bias is not None:
        out += conv.bias.float()
    return out.permute(0, 3, 1, 2)


class DepthTapsConv3d(nn.Conv3d):
    """W's 7x7x7 mask head computed by :func:`conv3d_by_depth_taps`; the same parameters as ``nn.Conv3d``."""

    def forward(self, x: Tensor) -> Tensor:
        return conv3d_by_depth_taps(x, self)


class FlattenedDepthConv2d(nn.Conv2d):
    """W's occlusion head computed by :func:`conv2d_over_flattened_depth`, taking the volume (B, C, D, H, W) instead
    of its flattening; the same parameters as ``nn.Conv2d``.

    The slices cost D times the arithmetic, which only matrix units in half precision repay; in float32 the
    flattened convolution is faster, so :func:`~liveportrait_core.acceleration.accelerate` uses this in half
    precision only.
    """

    def forward(self, x: Tensor) -> Tensor:
        return conv2d_over_flattened_depth(x, self)
