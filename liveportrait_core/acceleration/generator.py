"""A faster drop-in for the SPADE generator G, holding the official modules' own parameters.

What it changes against ``networks/spade_generator.py``, each exact up to float rounding:

* The x2 upsampled inputs of ``up_0`` and ``up_1`` are never made: nearest upsampling keeps the instance-norm
  statistics, so each block normalises its smaller input once (shared by ``norm_0`` and ``norm_s``) and the
  modulation broadcasts it over each 2x2 block of output pixels.
* The segmentation map's upsampling is folded into ``mlp_shared``'s convolution (``upsampled_conv.py``, with
  ``phases``), and 3x3 convolutions of 128+ channels may run by Winograd (``winograd``).
* ``1 + gamma`` comes from the gamma convolution's bias, and the modulation is one fused multiply-add in place.
* With ``folded_shortcut`` the learned 1x1 shortcut ``conv_s`` is folded into ``norm_s``'s beta convolution:
  ``conv_s(beta + n * gain) = conv_s(n * gain) + (conv_s o beta)(actv)``, one 3x3 convolution to ``cout`` channels
  instead of ``cin``.
* With ``folded_spectral_norm`` the spectral norm is divided into the kernels once (:func:`fold_spectral_norm`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..networks.spade_generator import SPADE, SPADEDecoder, SPADEResnetBlock, SpectralConv2d
from .routes import Routes
from .upsampled_conv import upsample_then_conv
from .winograd import same_conv


class FoldedSpectralConv2d(SpectralConv2d):
    """A :class:`SpectralConv2d` whose ``weight_orig`` already holds the normalised kernel (sigma is 1 for it under
    the stored u and v, so a saved state dict still reads back through the official formula)."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True, winograd: bool = False):
        super().__init__(cin, cout, kernel, bias)
        self.winograd = winograd

    def kernel(self) -> Tensor:
        return self.weight_orig

    def forward(self, x: Tensor) -> Tensor:
        return same_conv(x, self.weight_orig, self.bias, self.winograd)


def fold_spectral_norm(conv: SpectralConv2d, winograd: bool) -> FoldedSpectralConv2d:
    """``conv`` with its kernel divided by sigma in place, in float32, as a :class:`FoldedSpectralConv2d` holding the
    same parameters and buffers."""
    with torch.no_grad():
        conv.weight_orig.copy_(conv.weight_orig.float() / conv.sigma().float())
    cout, cin, k = conv.weight_orig.shape[:3]
    with torch.device("meta"):
        folded = FoldedSpectralConv2d(cin, cout, k, bias=conv.bias is not None, winograd=winograd)
    folded.weight_orig, folded.bias = conv.weight_orig, conv.bias
    folded.weight_u, folded.weight_v = conv.weight_u, conv.weight_v
    return folded


class FastSPADE(nn.Module):
    """:class:`SPADE` with a shared norm, its segmentation upsampling folded into the first convolution, and
    ``1 + gamma`` from the bias; the same submodules."""

    def __init__(self, spade: SPADE, routes: Routes):
        super().__init__()
        self.mlp_shared, self.mlp_gamma, self.mlp_beta = spade.mlp_shared, spade.mlp_gamma, spade.mlp_beta
        self.phases, self.winograd = routes.phases, routes.winograd

    def forward(self, x: Tensor, seg: Tensor) -> Tensor:
        """``x`` (B, C, H, W) and ``seg`` (B, L, H / s, W / s) -> (B, C, H, W), in ``x``'s memory layout."""
        return self.modulate(instance_norm(x), seg)

    def modulate(self, normalized: Tensor, seg: Tensor, upsample: int = 1) -> Tensor:
        """The step after the norm, for callers that share one normalised tensor between SPADEs.

        ``normalized`` (B, C, H, W) stands for its ``upsample``-fold nearest upsampling: it is broadcast over each
        block of output pixels instead. -> (B, C, upsample * H, upsample * W).
        """
        actv = self.activations(seg, upsample * normalized.shape[-1])
        out = same_conv(actv, self.mlp_beta.weight, self.mlp_beta.bias, self.winograd)
        _pixel_blocks(out, upsample).addcmul_(_pixel_blocks(normalized, 1), _pixel_blocks(self.gain(actv), upsample))
        return out

    def activations(self, seg: Tensor, width: int) -> Tensor:
        """The shared hidden features of ``seg`` nearest-upsampled to ``width`` (a whole multiple of its own):
        (B, 128, H * width / W, width)."""
        conv = self.mlp_shared[0]
        scale = width // seg.shape[-1]
        return F.relu(upsample_then_conv(seg, conv.weight, conv.bias, scale, self.phases, self.winograd), inplace=True)

    def gain(self, actv: Tensor) -> Tensor:
        """1 + gamma, the +1 added as the convolution's bias."""
        return same_conv(actv, self.mlp_gamma.weight, self.mlp_gamma.bias + 1, self.winograd)


def _pixel_blocks(x: Tensor, size: int) -> Tensor:
    """(B, C, H, W) viewed as (B, C, H / size, size, W / size, size): a coarse tensor viewed with size 1
    broadcasts over the blocks of a fine one."""
    return x.unflatten(-1, (x.shape[-1] // size, size)).unflatten(-3, (x.shape[-2] // size, size))


def instance_norm(x: Tensor) -> Tensor:
    """Parameter-free instance norm of (B, C, H, W), as a group norm of one channel per group: the same statistics
    (float32 inside), and it keeps a channels-last tensor channels-last."""
    return F.group_norm(x, x.shape[1], eps=1e-5)


class FastSPADEResnetBlock(nn.Module):
    """:class:`SPADEResnetBlock` that takes its input before a nearest upsampling; the same submodules."""

    def __init__(self, block: SPADEResnetBlock, routes: Routes):
        super().__init__()
        self.learned_shortcut = block.learned_shortcut
        self.conv_0, self.conv_1 = block.conv_0, block.conv_1
        self.norm_0, self.norm_1 = FastSPADE(block.norm_0, routes), FastSPADE(block.norm_1, routes)
        if self.learned_shortcut:
            self.conv_s, self.norm_s = block.conv_s, FastSPADE(block.norm_s, routes)
        self.folded_shortcut, self.winograd = routes.folded_shortcut, routes.winograd

    def forward(self, x: Tensor, seg: Tensor, upsample: int = 1) -> Tensor:
        """``x`` (B, C, H, W), nearest-upsampled ``upsample`` times first, and ``seg`` (B, L, H', W') a whole
        fraction of the output size -> (B, cout, upsample * H, upsample * W)."""
        normalized = instance_norm(x)  # norm_0 and norm_s normalise the same input
        if self.learned_shortcut:
            shortcut = self.shortcut(normalized, seg, upsample)
        else:
            shortcut = F.interpolate(x, scale_factor=upsample, mode="nearest") if upsample > 1 else x
        dx = self.conv_0(F.leaky_relu(self.norm_0.modulate(normalized, seg, upsample), 0.2, inplace=True))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2, inplace=True))
        return dx.add_(shortcut)

    def shortcut(self, normalized: Tensor, seg: Tensor, upsample: int) -> Tensor:
        """The learned shortcut ``conv_s(norm_s(x))``, folded into norm_s's beta convolution with ``folded_shortcut``."""
        norm = self.norm_s
        if not self.folded_shortcut:
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
        return self.conv_s(scaled).add_(same_conv(actv, kernel, bias, self.winograd))


class FastSPADEDecoder(nn.Module):
    """:class:`SPADEDecoder` over :class:`FastSPADEResnetBlock` s; the same submodules and parameter names."""

    def __init__(self, decoder: SPADEDecoder, routes: Routes):
        super().__init__()
        self.fc = decoder.fc
        for i, block in enumerate(decoder.middle_blocks()):
            self.add_module(f"G_middle_{i}", FastSPADEResnetBlock(block, routes))
        self.up_0, self.up_1 = FastSPADEResnetBlock(decoder.up_0, routes), FastSPADEResnetBlock(decoder.up_1, routes)
        self.conv_img = decoder.conv_img
        self.winograd = routes.winograd

    def forward(self, feature: Tensor) -> Tensor:
        """(B, 256, 64, 64) -> (B, 3, 512, 512) in [0, 1]."""
        x = same_conv(feature, self.fc.weight, self.fc.bias, self.winograd)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_0(x, feature, upsample=2)
        x = self.up_1(x, feature, upsample=2)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))


def fast_generator(decoder: SPADEDecoder, routes: Routes) -> FastSPADEDecoder:
    """``decoder`` as a :class:`FastSPADEDecoder` (its spectral norms folded first with ``folded_spectral_norm``)."""
    if routes.folded_spectral_norm:
        for block in [*decoder.middle_blocks(), decoder.up_0, decoder.up_1]:
            for name in ("conv_0", "conv_1", "conv_s"):
                if hasattr(block, name):
                    setattr(block, name, fold_spectral_norm(getattr(block, name), routes.winograd))
    return FastSPADEDecoder(decoder, routes)
