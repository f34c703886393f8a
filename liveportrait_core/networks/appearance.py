"""Appearance feature extractor F: a 256x256 portrait -> a 32x16x64x64 3-D feature volume."""
from __future__ import annotations

from torch import Tensor, nn

from .blocks import ConvBlock, ResBlock3d

FEATURE_CHANNELS, FEATURE_DEPTH = 32, 16


class AppearanceFeatureExtractor(nn.Module):
    """2-D encoder (x4 down), lifted to a volume by reshaping 512 channels into 32 x depth 16, then six 3-D resblocks."""

    def __init__(self, num_resblocks: int = 6):
        super().__init__()
        self.first = ConvBlock(3, 64)
        self.down_blocks = nn.ModuleList([ConvBlock(64, 128, downsample=True), ConvBlock(128, 256, downsample=True)])
        self.second = nn.Conv2d(256, FEATURE_CHANNELS * FEATURE_DEPTH, kernel_size=1)
        self.resblocks_3d = nn.Sequential()
        for i in range(num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(FEATURE_CHANNELS))

    def forward(self, image: Tensor) -> Tensor:
        """(B, 3, 256, 256) in [0, 1] -> (B, 32, 16, 64, 64)."""
        x = self.first(image)
        for block in self.down_blocks:
            x = block(x)
        x = self.second(x)
        b, _, h, w = x.shape
        return self.resblocks_3d(x.view(b, FEATURE_CHANNELS, FEATURE_DEPTH, h, w))
