"""Warping module W: dense 3-D motion from keypoints, applied to the appearance volume, with occlusion."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import fourier_heads
from .blocks import ConvBlock
from .depth_slices import DepthTapsConv3d, FlattenedDepthConv2d
from .routes import takes

NUM_KP = 21
COMPRESS = 4
KP_VARIANCE = 0.01


def coordinate_grid(depth: int, height: int, width: int, like: Tensor) -> Tensor:
    """(D, H, W, 3) grid of (x, y, z) in [-1, 1] with end points exactly at +-1, as the official code builds it."""
    axes = [torch.arange(n, device=like.device, dtype=like.dtype) for n in (depth, height, width)]
    z, y, x = (2 * (a / (n - 1)) - 1 for a, n in zip(axes, (depth, height, width)))
    zz, yy, xx = torch.meshgrid(z, y, x, indexing="ij")
    return torch.stack([xx, yy, zz], dim=-1)


def keypoint_heatmaps(kp: Tensor, grid: Tensor) -> Tensor:
    """Gaussian of each keypoint on the grid: (B, K, 3), (D, H, W, 3) -> (B, K, D, H, W).

    The isotropic Gaussian factorises over the axes, so it is the outer product of three 1-D Gaussians:
    one pass over the volume instead of one per coordinate. Its far tails (below the smallest normal float,
    ~1e-38) are set to zero where the ``flush_heatmaps`` route is on: subnormal inputs made the float32
    hourglass convolutions on the CPU ~1.5x slower.
    """
    axes = (grid[0, 0, :, 0], grid[0, :, 0, 1], grid[:, 0, 0, 2])  # x (W), y (H), z (D)
    gx, gy, gz = (torch.exp(-0.5 * (axis - kp[:, :, i, None]).pow(2) / KP_VARIANCE) for i, axis in enumerate(axes))
    heat = gz[:, :, :, None, None] * gy[:, :, None, :, None] * gx[:, :, None, None, :]
    if takes("flush_heatmaps", heat.device.type):
        heat.masked_fill_(heat < torch.finfo(heat.dtype).tiny, 0)
    return heat


class Hourglass(nn.Module):
    """3-D U-Net: five (conv, BN, ReLU, pool HxW) down blocks, five up blocks with skips, a final conv block."""

    def __init__(self, cin: int, base: int = 32, max_features: int = 1024, num_blocks: int = 5):
        super().__init__()
        width = [min(max_features, base * 2**i) for i in range(num_blocks + 1)]
        self.encoder = nn.Module()
        self.encoder.down_blocks = nn.ModuleList(
            [ConvBlock(cin if i == 0 else width[i], width[i + 1], dims=3, downsample=True) for i in range(num_blocks)])
        self.decoder = nn.Module()
        self.decoder.up_blocks = nn.ModuleList(
            [ConvBlock(width[i + 1] * (1 if i == num_blocks - 1 else 2), width[i], dims=3, upsample=True)
             for i in reversed(range(num_blocks))])
        self.out_channels = base + cin
        self.decoder.conv = nn.Conv3d(self.out_channels, self.out_channels, kernel_size=3, padding=1)
        self.decoder.norm = nn.BatchNorm3d(self.out_channels, affine=True)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Input followed by every down block's output."""
        skips = [x]
        for block in self.encoder.down_blocks:
            skips.append(block(skips[-1]))
        return skips

    def decode(self, skips: list[Tensor]) -> Tensor:
        out = skips.pop()
        for block in self.decoder.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.decoder.norm(self.decoder.conv(out)))

    def forward(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))


class DenseMotionNetwork(nn.Module):
    """Predicts a dense deformation (mask-weighted keypoint translations) and an occlusion map."""

    def __init__(self, feature_channels: int = 32, depth: int = 16):
        super().__init__()
        self.hourglass = Hourglass((NUM_KP + 1) * (COMPRESS + 1))
        hg = self.hourglass.out_channels
        self.mask = DepthTapsConv3d(hg, NUM_KP + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channels, COMPRESS, kernel_size=1)
        self.norm = nn.BatchNorm3d(COMPRESS, affine=True)
        self.occlusion = FlattenedDepthConv2d(hg * depth, 1, kernel_size=7, padding=3)

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
        heat = keypoint_heatmaps(kp_driving, grid) - keypoint_heatmaps(kp_source, grid)
        heat = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)
        prediction = self.hourglass(torch.cat([heat, warped], dim=2).view(b, -1, d, h, w))
        if fourier_heads.suits(prediction, self.mask.weight):
            mask, occlusion = fourier_heads.fourier_heads(prediction, self.mask, self.occlusion)
        else:
            mask, occlusion = self.mask(prediction), self.occlusion(prediction)
        mask = F.softmax(mask.movedim(1, -1), dim=-1)  # (B, D, H, W, K+1)
        # sum_k mask_k * motion_k, where motion_0 is the grid and the masks sum to 1: the grid plus the
        # mask-weighted keypoint shifts, a (D*H*W, K) @ (K, 3) product instead of a pass over every motion
        weights = mask[..., 1:].reshape(b, d * h * w, NUM_KP)
        deformation = grid + (weights @ (kp_source - kp_driving)).view(b, d, h, w, 3)
        occlusion = torch.sigmoid(occlusion)
        return deformation, occlusion


class WarpingNetwork(nn.Module):
    """Warps the source volume to the driving keypoints and projects it to a 256x64x64 feature map."""

    def __init__(self, feature_channels: int = 32, depth: int = 16):
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(feature_channels, depth)
        self.third = ConvBlock(feature_channels * depth, 256, negative_slope=0.01)
        self.fourth = nn.Conv2d(256, 256, kernel_size=1)

    def forward(self, feature_3d: Tensor, kp_driving: Tensor, kp_source: Tensor) -> dict[str, Tensor]:
        """Returns ``out`` (B, 256, 64, 64), ``occlusion_map`` (B, 1, 64, 64), ``deformation`` (B, 16, 64, 64, 3)."""
        deformation, occlusion = self.dense_motion_network(feature_3d, kp_driving, kp_source)
        warped = F.grid_sample(feature_3d, deformation, align_corners=False)
        b, c, d, h, w = warped.shape
        out = self.fourth(self.third(warped.view(b, c * d, h, w))) * occlusion
        return {"out": out, "occlusion_map": occlusion, "deformation": deformation}
