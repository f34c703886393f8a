"""Motion extractor M: ConvNeXt-V2-tiny backbone with heads for keypoints, head pose, expression, scale, translation."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NUM_KP, NUM_BINS = 21, 66
DEPTHS, DIMS = (3, 3, 9, 3), (96, 192, 384, 768)
EPS = 1e-6


class ChannelsFirstLayerNorm(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor (biased variance, eps 1e-6)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) * torch.rsqrt(var + EPS)
        return x * self.weight[:, None, None] + self.bias[:, None, None]


class GRN(nn.Module):
    """Global response normalisation of ConvNeXt-V2 on a channels-last tensor."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1, 1, 1, channels))
        self.beta = nn.Parameter(torch.zeros(1, 1, 1, channels))

    def forward(self, x: Tensor) -> Tensor:
        g = torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True)
        n = g / (g.mean(dim=-1, keepdim=True) + EPS)
        return self.gamma * (x * n) + self.beta + x


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7 -> LayerNorm -> MLP x4 with exact GELU and GRN, residual."""

    def __init__(self, dim: int):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=EPS)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.grn = GRN(4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(self.grn(F.gelu(self.pwconv1(self.norm(y)))))
        return x + y.permute(0, 3, 1, 2)


class ConvNeXtV2Detector(nn.Module):
    """The backbone and the seven linear heads; names match the official ``detector.*`` keys."""

    def __init__(self):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, DIMS[0], kernel_size=4, stride=4), ChannelsFirstLayerNorm(DIMS[0]))
        downs = [nn.Sequential(ChannelsFirstLayerNorm(a), nn.Conv2d(a, b, kernel_size=2, stride=2)) for a, b in zip(DIMS, DIMS[1:])]
        self.downsample_layers = nn.ModuleList([stem, *downs])
        self.stages = nn.ModuleList([nn.Sequential(*[ConvNeXtBlock(d) for _ in range(n)]) for n, d in zip(DEPTHS, DIMS)])
        self.norm = nn.LayerNorm(DIMS[-1], eps=EPS)
        width = DIMS[-1]
        self.fc_kp = nn.Linear(width, 3 * NUM_KP)
        self.fc_scale = nn.Linear(width, 1)
        self.fc_pitch = nn.Linear(width, NUM_BINS)
        self.fc_yaw = nn.Linear(width, NUM_BINS)
        self.fc_roll = nn.Linear(width, NUM_BINS)
        self.fc_t = nn.Linear(width, 3)
        self.fc_exp = nn.Linear(width, 3 * NUM_KP)

    def features(self, x: Tensor) -> Tensor:
        """(B, 3, H, W) -> (B, 768) pooled and normalised features, the input of every head."""
        for down, stage in zip(self.downsample_layers, self.stages):
            x = stage(down(x))
        return self.norm(x.mean(dim=(-2, -1)))

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        f = self.features(x)
        return {
            "pitch": self.fc_pitch(f), "yaw": self.fc_yaw(f), "roll": self.fc_roll(f),
            "t": self.fc_t(f), "exp": self.fc_exp(f), "scale": self.fc_scale(f), "kp": self.fc_kp(f),
        }


class MotionExtractor(nn.Module):
    """(B, 3, 256, 256) in [0, 1] -> raw outputs: pitch/yaw/roll (B, 66) bin logits, t (B, 3), exp (B, 63),
    scale (B, 1), kp (B, 63). Decoding to degrees and matrices lives in ``liveportrait_core.motion.pose``."""

    def __init__(self):
        super().__init__()
        self.detector = ConvNeXtV2Detector()

    def forward(self, image: Tensor) -> dict[str, Tensor]:
        return self.detector(image)
