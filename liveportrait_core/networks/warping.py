"""Warping module W (official ``warping_network.py`` and ``dense_motion.py``): dense 3-D motion from keypoints,
applied to the appearance volume, with an occlusion map."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .blocks import ConvBlock

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
    """Gaussian of each keypoint on the grid: (B, K, 3), (D, H, W, 3) -> (B, K, D, H, W) (official ``kp2gaussian``)."""
    offsets = grid - kp[:, :, None, None, None, :]
    return torch.exp(-0.5 * offsets.pow(2).sum(-1) / KP_VARIANCE)


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

    def forward(self, x: Tensor) -> Tensor:
        skips = [x]  # the input, then every down block's output
        for block in self.encoder.down_blocks:
            skips.append(block(skips[-1]))
        out = skips.pop()
        for block in self.decoder.up_blocks:
            out = torch.cat([block(out), skips.pop()], dim=1)
        return F.relu(self.decoder.norm(self.decoder.conv(out)))


class DenseMotionNetwork(nn.Module):
    """Predicts a dense deformation (the keypoint motions mixed by a softmax mask) and an occlusion map."""

    def __init__(self, feature_channels: int = 32, depth: int = 16):
        super().__init__()
        self.hourglass = Hourglass((NUM_KP + 1) * (COMPRESS + 1))
        hg = self.hourglass.out_channels
        self.mask = nn.Conv3d(hg, NUM_KP + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channels, COMPRESS, kernel_size=1)
        self.norm = nn.BatchNorm3d(COMPRESS, affine=True)
        self.occlusion = nn.Conv2d(hg * depth, 1, kernel_size=7, padding=3)

    def forward(self, feature: Tensor, kp_driving: Tensor, kp_source: Tensor) -> tuple[Tensor, Tensor]:
        """(B, C, D, H, W), (B, K, 3), (B, K, 3) -> deformation (B, D, H, W, 3), occlusion (B, 1, H, W)."""
        b, _, d, h, w = feature.shape
        feature = F.relu(self.norm(self.compress(feature)))
        slots = NUM_KP + 1
        grid = coordinate_grid(d, h, w, feature)
        # sparse motions: slot 0 keeps the identity grid, slot k moves it by kp_source_k - kp_driving_k
        moved = grid - kp_driving[:, :, None, None, None, :] + kp_source[:, :, None, None, None, :]
        motions = torch.cat([grid.expand(b, 1, d, h, w, 3), moved], dim=1)  # (B, K+1, D, H, W, 3)
        # the compressed volume sampled at every slot's motion
        repeated = feature.unsqueeze(1).expand(b, slots, *feature.shape[1:]).reshape(b * slots, -1, d, h, w)
        deformed = F.grid_sample(repeated, motions.reshape(b * slots, d, h, w, 3), align_corners=False)
        deformed = deformed.view(b, slots, -1, d, h, w)
        heat = keypoint_heatmaps(kp_driving, grid) - keypoint_heatmaps(kp_source, grid)
        heat = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)  # (B, K+1, 1, D, H, W)
        prediction = self.hourglass(torch.cat([heat, deformed], dim=2).view(b, -1, d, h, w))
        mask = F.softmax(self.mask(prediction), dim=1).unsqueeze(2)  # (B, K+1, 1, D, H, W)
        deformation = (motions.permute(0, 1, 5, 2, 3, 4) * mask).sum(dim=1).permute(0, 2, 3, 4, 1)
        occlusion = torch.sigmoid(self.occlusion(prediction.flatten(1, 2)))
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
