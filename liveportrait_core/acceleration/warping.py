"""Faster drop-ins for the warping module W's parts (and the appearance extractor's blocks), holding the official
modules' own parameters.

What they change against ``networks/warping.py`` and ``networks/blocks.py``, each exact up to float rounding:

* A block's x2 nearest upsampling is folded into its convolution (``upsampled_conv.py``, with ``phases``) and 3x3
  convolutions of 128+ channels may run by Winograd; pooling keeps a channels-last volume channels-last.
* The keypoint Gaussians factorise over the axes (one pass over the volume, not one per coordinate); with
  ``flush_heatmaps`` their far tails below the smallest normal float are set to zero, as subnormal inputs slow
  float32 convolutions on the CPU.
* The compressed volume is sampled for all keypoint slots in one ``grid_sample`` (the grids stacked along depth),
  and the deformation is the identity grid plus the mask-weighted keypoint shifts (a (D*H*W, K) @ (K, 3) product,
  as the masks sum to 1) instead of a sum over 22 motion volumes.
* The mask and occlusion heads take the Fourier route in float32 (``fourier_heads``) or, in half precision, the
  depth-slice modules put in by :func:`~liveportrait_core.acceleration.accelerate` (``sliced_heads``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..networks.blocks import ConvBlock
from ..networks.warping import KP_VARIANCE, NUM_KP, DenseMotionNetwork, coordinate_grid
from . import fourier_heads
from .depth_slices import FlattenedDepthConv2d
from .routes import Routes
from .upsampled_conv import upsample_then_conv


class FastConvBlock(nn.Module):
    """:class:`ConvBlock` with its upsampling folded into the convolution; the same ``conv`` and ``norm``."""

    def __init__(self, block: ConvBlock, routes: Routes):
        super().__init__()
        self.conv, self.norm = block.conv, block.norm
        self.negative_slope, self.downsample, self.upsample = block.negative_slope, block.downsample, block.upsample
        self.phases, self.winograd = routes.phases, routes.winograd

    def forward(self, x: Tensor) -> Tensor:
        scale = 2 if self.upsample else 1
        x = upsample_then_conv(x, self.conv.weight, self.conv.bias, scale, self.phases, self.winograd)
        x = F.leaky_relu(self.norm(x), self.negative_slope)
        if self.downsample:
            x = average_2x2(x)
        return x


def average_2x2(x: Tensor) -> Tensor:
    """2x2 average over the last two axes of (B, C, H, W) or (B, C, D, H, W), keeping the memory layout: a
    channels-last volume's depth is folded into the batch (NHWC slices, no copy), a contiguous one's into the
    channels."""
    if x.ndim == 4:
        return F.avg_pool2d(x, 2)
    if x.is_contiguous(memory_format=torch.channels_last_3d):
        b, c, d = x.shape[:3]
        pooled = F.avg_pool2d(x.transpose(1, 2).reshape(b * d, c, *x.shape[-2:]), 2)
        return pooled.unflatten(0, (b, d)).transpose(1, 2)
    return F.avg_pool2d(x.flatten(1, -3), 2).unflatten(1, x.shape[1:-2])


def factorised_heatmaps(kp: Tensor, grid: Tensor, flush: bool) -> Tensor:
    """Gaussian of each keypoint on the grid, (B, K, 3), (D, H, W, 3) -> (B, K, D, H, W), as the outer product of
    three 1-D Gaussians; with ``flush`` values below the smallest normal float are zero."""
    axes = (grid[0, 0, :, 0], grid[0, :, 0, 1], grid[:, 0, 0, 2])  # x (W), y (H), z (D)
    gx, gy, gz = (torch.exp(-0.5 * (axis - kp[:, :, i, None]).pow(2) / KP_VARIANCE) for i, axis in enumerate(axes))
    heat = gz[:, :, :, None, None] * gy[:, :, None, :, None] * gx[:, :, None, None, :]
    if flush:
        heat.masked_fill_(heat < torch.finfo(heat.dtype).tiny, 0)
    return heat


class FastDenseMotionNetwork(nn.Module):
    """:class:`DenseMotionNetwork` computed with fewer passes over the volume; the same submodules."""

    def __init__(self, network: DenseMotionNetwork, routes: Routes):
        super().__init__()
        self.hourglass, self.mask = network.hourglass, network.mask  # the official order of the state dict
        self.compress, self.norm, self.occlusion = network.compress, network.norm, network.occlusion
        self.flush_heatmaps, self.fourier_heads = routes.flush_heatmaps, routes.fourier_heads

    def forward(self, feature: Tensor, kp_driving: Tensor, kp_source: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, D, H, W), (B, K, 3), (B, K, 3) -> deformation (B, D, H, W, 3), occlusion (B, 1, H, W)."""
        b, _, d, h, w = feature.shape
        feature = F.relu(self.norm(self.compress(feature)))
        grid = coordinate_grid(d, h, w, feature)
        # Slot 0 keeps the identity grid; slot k moves it by kp_source_k - kp_driving_k (official rounding order).
        moved = grid - kp_driving[:, :, None, None, None, :] + kp_source[:, :, None, None, None, :]
        motions = torch.cat([grid.expand(b, 1, d, h, w, 3), moved], dim=1)  # (B, K+1, D, H, W, 3)
        slots = NUM_KP + 1
        # all slots in one sampling of the volume: their grids stacked along depth, (B, C, K+1 * D, H, W) out
        warped = F.grid_sample(feature, motions.view(b, slots * d, h, w, 3), align_corners=False)
        warped = warped.unflatten(2, (slots, d)).transpose(1, 2)  # (B, K+1, C, D, H, W)
        heat = (factorised_heatmaps(kp_driving, grid, self.flush_heatmaps)
                - factorised_heatmaps(kp_source, grid, self.flush_heatmaps))
        heat = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)
        prediction = self.hourglass(torch.cat([heat, warped], dim=2).view(b, -1, d, h, w))
        mask, occlusion = self.heads(prediction)
        mask = F.softmax(mask.movedim(1, -1), dim=-1)  # (B, D, H, W, K+1)
        # sum_k mask_k * motion_k, where motion_0 is the grid and the masks sum to 1
        weights = mask[..., 1:].reshape(b, d * h * w, NUM_KP)
        deformation = grid + (weights @ (kp_source - kp_driving)).view(b, d, h, w, 3)
        return deformation, torch.sigmoid(occlusion)

    def heads(self, prediction: Tensor) -> tuple[Tensor, Tensor]:
        """The mask logits (B, K+1, D, H, W) and occlusion logits (B, 1, H, W) of the hourglass's output."""
        if self.fourier_heads and fourier_heads.suits(prediction, self.mask.weight):
            return fourier_heads.fourier_heads(prediction, self.mask, self.occlusion)
        if isinstance(self.occlusion, FlattenedDepthConv2d):  # it takes the volume itself
            return self.mask(prediction), self.occlusion(prediction)
        return self.mask(prediction), self.occlusion(prediction.flatten(1, 2))
