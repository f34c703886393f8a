"""Convolution blocks shared by the appearance extractor and the warping module."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .upsampled_conv import upsample_then_conv

_CONV = {2: nn.Conv2d, 3: nn.Conv3d}
_NORM = {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}


class ConvBlock(nn.Module):
    """conv -> BatchNorm -> (leaky) ReLU, optionally after a x2 nearest upsampling or before a x2 average pool.

    The convolution is 'same' (padding kernel // 2) and runs as :func:`upsample_then_conv`: an upsampling block's
    without the upsampled tensor, a 2-D 3x3 one by Winograd where that route takes it.

    ``dims`` picks 2-D or 3-D; 3-D blocks resample height and width only (depth is kept), as the
    official hourglass does. Parameter names (``conv``, ``norm``) follow the official checkpoints.
    """

    def __init__(self, cin: int, cout: int, dims: int = 2, kernel: int = 3, negative_slope: float = 0.0,
                 downsample: bool = False, upsample: bool = False):
        super().__init__()
        self.conv = _CONV[dims](cin, cout, kernel_size=kernel, padding=kernel // 2)
        self.norm = _NORM[dims](cout, affine=True)
        self.negative_slope = negative_slope
        self.downsample, self.upsample = downsample, upsample

    def forward(self, x: Tensor) -> Tensor:
        x = upsample_then_conv(x, self.conv.weight, self.conv.bias, 2 if self.upsample else 1)
        x = F.leaky_relu(self.norm(x), self.negative_slope)
        if self.downsample:
            x = _average_2x2(x)
        return x


def _average_2x2(x: Tensor) -> Tensor:
    """2x2 average over the last two axes of (B, C, H, W) or (B, C, D, H, W), keeping the memory layout.

    On the CPU, which has no bf16 ``avg_pool3d``, 3-D inputs fold depth into the batch (channels-last ones, no copy)
    or into the channels for ``avg_pool2d``.
    """
    if x.ndim == 4:
        return F.avg_pool2d(x, 2)
    if x.device.type != "cpu":
        return F.avg_pool3d(x, (1, 2, 2))
    if x.is_contiguous(memory_format=torch.channels_last_3d):  # depth folded into the batch: NHWC slices, no copy
        b, c, d = x.shape[:3]
        pooled = F.avg_pool2d(x.transpose(1, 2).reshape(b * d, c, *x.shape[-2:]), 2)
        return pooled.unflatten(0, (b, d)).transpose(1, 2)
    return F.avg_pool2d(x.flatten(1, -3), 2).unflatten(1, x.shape[1:-2])


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
