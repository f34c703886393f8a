"""Convolution blocks shared by the appearance extractor and the warping module (official ``modules/util.py``)."""
from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class ConvBlock(nn.Module):
    """[x2 nearest upsampling ->] conv -> BatchNorm -> (leaky) ReLU [-> 2x2 average pool]: the official SameBlock2d,
    DownBlock2d/3d and UpBlock3d in one class.

    ``dims`` picks 2-D or 3-D; 3-D blocks resample height and width only (depth is kept), as the official hourglass
    does. The convolution is 'same' (padding kernel // 2). Parameter names (``conv``, ``norm``) follow the official
    checkpoints.
    """

    def __init__(self, cin: int, cout: int, dims: int = 2, kernel: int = 3, negative_slope: float = 0.0,
                 downsample: bool = False, upsample: bool = False):
        super().__init__()
        self.conv = _CONV[dims](cin, cout, kernel_size=kernel, padding=kernel // 2)
        self.norm = _NORM[dims](cout, affine=True)
        self.negative_slope = negative_slope
        self.downsample, self.upsample = downsample, upsample

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=(1,) * (x.ndim - 4) + (2, 2), mode="nearest")
        x = F.leaky_relu(self.norm(self.conv(x)), self.negative_slope)
        if self.downsample:
            x = average_2x2(x)
        return x


def average_2x2(x: Tensor) -> Tensor:
    """2x2 average over height and width of (B, C, H, W) or (B, C, D, H, W): the official ``AvgPool3d((1, 2, 2))``
    on volumes, computed as a 2-D pool of the (channel, depth) slices, which the CPU also has in bf16."""
    if x.ndim == 4:
        return F.avg_pool2d(x, 2)
    return F.avg_pool2d(x.flatten(1, 2), 2).unflatten(1, x.shape[1:3])


class ResBlock3d(nn.Module):
    """Pre-activation residual block: x + conv2(relu(bn2(conv1(relu(bn1(x))))))."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv3d(channels, channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(channels, channels, kernel_size=3, padding=1)
        self.norm1 = nn.BatchNorm3d(channels, affine=True)
        self.norm2 = nn.BatchNorm3d(channels, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(F.relu(self.norm1(x)))
        return x + self.conv2(F.relu(self.norm2(out)))
