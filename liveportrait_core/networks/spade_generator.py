"""SPADE generator G: a 256x64x64 warped feature map -> a 512x512 RGB image."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .routes import takes
from .upsampled_conv import upsample_then_conv
from .winograd import same_conv

HIDDEN = 128


class SpectralConv2d(nn.Module):
    """Conv2d with a spectrally normalised kernel, ``weight_orig / sigma`` with ``sigma = u . (W v)``.

    The official checkpoints store ``weight_orig``, ``weight_u`` and ``weight_v`` (torch's spectral norm);
    at inference no power iteration runs, so the division is a constant. It is done once, in float32, as
    the weights load: ``weight_orig`` then holds the normalised kernel and each forward is a plain
    convolution (recomputing it cost ~8% of an eager CPU generator call). The stored u and v give that
    kernel sigma = 1, so a state dict saved from here still reads back through the official formula.
    """

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True):
        super().__init__()
        self.weight_orig = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.register_buffer("weight_u", torch.zeros(cout))
        self.register_buffer("weight_v", torch.zeros(cin * kernel * kernel))
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        if all(prefix + name in state_dict for name in ("weight_orig", "weight_u", "weight_v")):
            with torch.no_grad():
                w = self.weight_orig.float()
                sigma = torch.dot(self.weight_u.float(), torch.mv(w.flatten(1), self.weight_v.float()))
                self.weight_orig.copy_(w / sigma)

    def kernel(self) -> Tensor:
        """The normalised kernel; where the ``folded_spectral_norm`` route is off, divided on every call as the
        official code does (sigma is 1 once folded)."""
        weight = self.weight_orig
        if takes("folded_spectral_norm", weight.device.type):
            return weight
        return weight / torch.dot(self.weight_u, torch.mv(weight.flatten(1), self.weight_v))

    def forward(self, x: Tensor) -> Tensor:
        return same_conv(x, self.kernel(), self.bias)


class SPADE(nn.Module):
    """Parameter-free instance norm modulated by ``(1 + gamma(seg), beta(seg))`` from the segmentation map.

    ``seg`` may be smaller than the output by an integer factor: it is then nearest-upsampled to that size,
    which :func:`upsample_then_conv` folds into the first convolution.
    """

    def __init__(self, channels: int, label_channels: int):
        super().__init__()
        # the official layout (keys mlp_shared.0.*); modulate() calls the conv through upsample_then_conv, then ReLU
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_channels, HIDDEN, kernel_size=3, padding=1), nn.ReLU(inplace=True))
        self.mlp_gamma = nn.Conv2d(HIDDEN, channels, kernel_size=3, padding=1)
        self.mlp_beta = nn.Conv2d(HIDDEN, channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """``x`` (B, C, H, W) and ``seg`` (B, L, H / s, W / s) -> (B, C, H, W), in ``x``'s memory layout."""
        return self.modulate(instance_norm(x), seg)

    def modulate(self, normalized: Tensor, seg: Tensor, upsample: int = 1) -> Tensor:
        """The step after the norm, for callers that share one normalised tensor between SPADEs.

        ``normalized`` (B, C, H, W) stands for its ``upsample``-fold nearest upsampling: it is broadcast over each
        block of output pixels instead. -> (B, C, upsample * H, upsample * W).
        """
        actv = self.activations(seg, upsample * normalized.shape[-1])
        out = same_conv(actv, self.mlp_beta.weight, self.mlp_beta.bias)
        _pixel_blocks(out, upsample).addcmul_(_pixel_blocks(normalized, 1), _pixel_blocks(self.gain(actv), upsample))
        return out

    def activations(self, seg: Tensor, width: int) -> Tensor:
        """The shared hidden features of ``seg`` nearest-upsampled to ``width`` (a whole multiple of its own):
        (B, 128, H * width / W, width)."""
        conv = self.mlp_shared[0]
        return F.relu(upsample_then_conv(seg, conv.weight, conv.bias, width // seg.shape[-1]), inplace=True)

    def gain(self, actv: Tensor) -> Tensor:
        """1 + gamma, the +1 added as the convolution's bias."""
        return same_conv(actv, self.mlp_gamma.weight, self.mlp_gamma.bias + 1)


def _pixel_blocks(x: Tensor, size: int) -> Tensor:
    """(B, C, H, W) viewed as (B, C, H / size, size, W / size, size): a coarse tensor viewed with size 1
    broadcasts over the blocks of a fine one."""
    return x.unflatten(-1, (x.shape[-1] // size, size)).unflatten(-3, (x.shape[-2] // size, size))


def instance_norm(x: Tensor) -> Tensor:
    """Parameter-free instance norm of (B, C, H, W), as a group norm of one channel per group: the same statistics
    (float32 inside), and it keeps a channels-last tensor channels-last (CPU bf16, batch 4: a SPADE step 25 -> 6
    ms/frame)."""
    return F.group_norm(x, x.shape[1], eps=1e-5)


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

    def forward(self, x: Tensor, seg: Tensor, upsample: int = 1) -> Tensor:
        """``x`` (B, C, H, W), nearest-upsampled ``upsample`` times first, and ``seg`` (B, L, H', W') a whole
        fraction of the output size -> (B, cout, upsample * H, upsample * W).

        The upsampled ``x`` is never made: upsampling keeps the instance-norm statistics, so the norm runs on ``x``
        and the modulation broadcasts it (a learned shortcut reads only the normalised input).
        """
        normalized = instance_norm(x)  # norm_0 and norm_s normalise the same input
        if self.learned_shortcut:
            shortcut = self.shortcut(normalized, seg, upsample)
        else:
            shortcut = F.interpolate(x, scale_factor=upsample, mode="nearest") if upsample > 1 else x
        dx = self.conv_0(F.leaky_relu(self.norm_0.modulate(normalized, seg, upsample), 0.2, inplace=True))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2, inplace=True))
        return dx.add_(shortcut)

    def shortcut(self, normalized: Tensor, seg: Tensor, upsample: int) -> Tensor:
        """The learned shortcut ``conv_s(norm_s(x))``.

        Where the ``folded_shortcut`` route is on, the 1x1 ``conv_s`` is folded into norm_s's beta convolution,
        since conv_s(beta + n * gain) = conv_s(n * gain) + (conv_s o beta)(actv): the beta term becomes one 3x3
        convolution to cout channels instead of cin (the generator: 38 GFLOP a frame less).
        """
        norm = self.norm_s
        if not takes("folded_shortcut", normalized.device.type):
            return self.conv_s(norm.modulate(normalized, seg, upsample))
        actv = norm.activations(seg, upsample * normalized.shape[-1])
        scaled = norm.gain(actv)
        _pixel_blocks(scaled, upsample).mul_(_pixel_blocks(normalized, 1))
        beta = norm.mlp_beta
        wide = torch.promote_types(beta.weight.dtype, torch.float32)  # half-precision products add in float32
        mix = self.conv_s.kernel().flatten(1).to(wide)  # (cout, cin)
        kernel = torch.einsum("oc,c...->o...", mix, beta.weight.to(wide)).to(beta.weight.dtype)
        if beta.weight.is_contiguous(memory_format=torch.channels_last):
            kernel = kernel.contiguous(memory_format=torch.channels_last)
        bias = (mix @ beta.bias.to(wide)).to(beta.bias.dtype)
        return self.conv_s(scaled).add_(same_conv(actv, kernel, bias))


class SPADEDecoder(nn.Module):
    """fc conv, six 512-wide SPADE blocks at 64x64, two upsampling blocks, conv to 12 channels, PixelShuffle(2), sigmoid."""

    def __init__(self, label_channels: int = 256, out_channels: int = 64):
        super().__init__()
        wide = 2 * label_channels
        self.fc = nn.Conv2d(label_channels, wide, kernel_size=3, padding=1)
        for i in range(6):
            self.add_module(f"G_middle_{i}", SPADEResnetBlock(wide, wide, label_channels))
        self.up_0 = SPADEResnetBlock(wide, label_channels, label_channels)
        self.up_1 = SPADEResnetBlock(label_channels, out_channels, label_channels)
        self.conv_img = nn.Sequential(nn.Conv2d(out_channels, 3 * 4, kernel_size=3, padding=1), nn.PixelShuffle(2))

    def forward(self, feature: Tensor) -> Tensor:
        """(B, 256, 64, 64) -> (B, 3, 512, 512) in [0, 1]."""
        x = same_conv(feature, self.fc.weight, self.fc.bias)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_0(x, feature, upsample=2)
        x = self.up_1(x, feature, upsample=2)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))
