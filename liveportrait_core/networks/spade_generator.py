"""SPADE generator G (official ``spade_generator.py``): a 256x64x64 warped feature map -> a 512x512 RGB image."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

HIDDEN = 128


class SpectralConv2d(nn.Module):
    """Conv2d with a spectrally normalised kernel, ``weight_orig / sigma`` with ``sigma = u . (W v)``.

    The official checkpoints store ``weight_orig``, ``weight_u`` and ``weight_v`` (torch's spectral norm); at
    inference no power iteration runs, so sigma is computed from the stored vectors on every call, as there.
    """

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.register_buffer("weight_u", torch.zeros(cout))
        self.register_buffer("weight_v", torch.zeros(cin * kernel * kernel))
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)

    def sigma(self) -> Tensor:
        """The kernel's largest singular value as the stored power-iteration vectors estimate it."""
        return torch.dot(self.weight_u, torch.mv(self.weight_orig.flatten(1), self.weight_v))

    def kernel(self) -> Tensor:
        """The normalised kernel ``weight_orig / sigma``."""
        return self.weight_orig / self.sigma()

    def forward(self, x: Tensor) -> Tensor:
        weight = self.kernel()
        return F.conv2d(x, weight, self.bias, padding=weight.shape[-1] // 2)


class SPADE(nn.Module):
    """Parameter-free instance norm modulated by ``(1 + gamma(seg), beta(seg))``, the segmentation map ``seg``
    nearest-resized to the input's size."""

    def __init__(self, channels: int, label_channels: int):
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, HIDDEN, kernel_size=3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(HIDDEN, channels, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(HIDDEN, channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """``x`` (B, C, H, W) and ``seg`` (B, L, H', W') -> (B, C, H, W)."""
        normalized = F.instance_norm(x, eps=1e-5)
        actv = self.mlp_shared(F.interpolate(seg, size=x.shape[-2:], mode="nearest"))
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    """Two SPADE -> LeakyReLU(0.2) -> spectral conv steps, plus a learned 1x1 shortcut when widths differ."""

    def __init__(self, cin: int, cout: int, label_channels: int):
        super().__init__()
        middle = min(cin, cout)
        self.learned_shortcut = cin != cout
        self.conv_0 = SpectralConv2d(cin, middle, 3)
        self.conv_1 = SpectralConv2d(middle, cout, 3)
        self.norm_0 = SPADE(cin, label_channels)
        self.norm_1 = SPADE(middle, label_channels)
        if self.learned_shortcut:
            self.conv_s = SpectralConv2d(cin, cout, 1, bias=False)
            self.norm_s = SPADE(cin, label_channels)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """``x`` (B, cin, H, W), ``seg`` (B, L, H', W') -> (B, cout, H, W)."""
        shortcut = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return shortcut + dx


class SPADEDecoder(nn.Module):
    """fc conv, six 512-wide SPADE blocks at 64x64, two upsampling blocks, conv to 12 channels, PixelShuffle(2),
    sigmoid."""

    def __init__(self, label_channels: int = 256, out_channels: int = 64):
        super().__init__()
        wide = 2 * label_channels
        self.fc = nn.Conv2d(label_channels, wide, kernel_size=3, padding=1)
        for i in range(6):
            self.add_module(f"G_middle_{i}", SPADEResnetBlock(wide, wide, label_channels))
        self.up_0 = SPADEResnetBlock(wide, label_channels, label_channels)
        self.up_1 = SPADEResnetBlock(label_channels, out_channels, label_channels)
        self.conv_img = nn.Sequential(nn.Conv2d(out_channels, 3 * 4, kernel_size=3, padding=1), nn.PixelShuffle(2))

    def middle_blocks(self) -> list[SPADEResnetBlock]:
        return [getattr(self, f"G_middle_{i}") for i in range(6)]

    def forward(self, feature: Tensor) -> Tensor:
        """(B, 256, 64, 64) -> (B, 3, 512, 512) in [0, 1]."""
        x = self.fc(feature)
        for block in self.middle_blocks():
            x = block(x, feature)
        x = self.up_0(F.interpolate(x, scale_factor=2, mode="nearest"), feature)
        x = self.up_1(F.interpolate(x, scale_factor=2, mode="nearest"), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))
