"""W's two wide heads in float32 as products of the 2-D Fourier spectra of tiles of the hourglass's output.

The 7x7x7 mask head (142 -> 22 channels over a 16x64x64 volume, 140 GFLOP a frame) is W's largest convolution, and
in float32 nothing makes its 49 multiply-adds per tap cheaper in space (Winograd's transforms for 7-tap kernels round
too coarsely). In the Fourier domain a 2-D convolution is one complex multiply-add per frequency. Each depth slice is
cut into 32x32 output tiles, read with their 3-pixel margins as 40x40 windows; per frequency, one matrix product of
the windows' spectra (rows: frame, slice, tile; columns: input channels) with the kernel spectra (input channels x
depth taps x outputs) gives every slice's convolution with every depth tap's 2-D kernel, and summing the right
slices (as ``depth_slices.py`` does in space) gives the 3-D convolution: ~9 GFLOP a frame of complex products
instead of 140. The occlusion head (a 7x7 2-D convolution over the 2,272 (channel, depth) pairs) reads the same
spectra: a product with 16 more columns, one per depth, of which each slice keeps its own.

Float32 only: half precision has no Fourier transforms on the CPU and takes the depth-slice route, which AMX runs
well. The rounding is smaller than the direct convolution's (relative ~3e-7 against ~1e-6). The kernel spectra are
kept on the weights (``kernel_cache.py``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .depth_taps import sum_depth_taps
from .kernel_cache import kept_transform

TILE = 32  # output pixels per tile side
BAND_BYTES = 128 << 20  # spectra of one band of frames: bounds the route's working memory


def suits(x: Tensor, weight: Tensor) -> bool:
    """Whether :func:`fourier_heads` computes the heads of ``x`` with the 3-D kernel ``weight``: a float32 input and a
    :func:`_transformable` kernel."""
    return x.dtype == torch.float32 and x.ndim == 5 and _transformable(weight)


def _transformable(weight: Tensor) -> bool:
    """A float32 cubic 3-D kernel of odd width 5 or more (narrower ones cost less directly)."""
    k = weight.shape[-1]
    return weight.dtype == torch.float32 and weight.ndim == 5 and len(set(weight.shape[2:])) == 1 and k % 2 and k >= 5


def fourier_size(k: int) -> int:
    """The transform width for kernel width ``k``: a tile and its margins, rounded up to a multiple of 8."""
    return -(-(TILE + k - 1) // 8) * 8


def fourier_heads(x: Tensor, mask: nn.Conv3d, occlusion: nn.Conv2d) -> tuple[Tensor, Tensor]:
    """W's two heads from one set of spectra of ``x`` (B, C, D, H, W): ``mask(x)``, a 'same' 3-D convolution with a
    cubic odd kernel, float32 (B, O, D, H, W) channels-last; and ``occlusion(x.flatten(1, 2))``, a 'same' 2-D
    convolution over the (channel, depth) pairs with kernels as wide, float32 (B, P, H, W). A band of frames at a time
    (``BAND_BYTES`` of input spectra).

    The occlusion head is a product with a few more columns: each slice's spectra times every depth's kernel
    spectra, of which slice z keeps depth z's (as ``depth_slices.conv2d_over_flattened_depth`` does in space).
    """
    b, c, d, h, w = x.shape
    n = fourier_size(mask.kernel_size[-1])
    frames = max(1, BAND_BYTES // (d * _tiles(h) * _tiles(w) * c * n * (n // 2 + 1) * 8))
    masks = torch.empty(b, d, h, w, mask.out_channels, dtype=x.dtype, device=x.device)
    occlusions = torch.empty(b, h, w, occlusion.out_channels, dtype=x.dtype, device=x.device)
    for first in range(0, b, frames):
        band = slice(first, first + frames)
        spectra = _SliceSpectra(x[band], mask.kernel_size[-1])
        masks[band] = spectra.conv3d(mask.weight)
        occlusions[band] = spectra.flat_conv2d(occlusion.weight)
    for out, conv in ((masks, mask), (occlusions, occlusion)):
        if conv.bias is not None:
            out += conv.bias
    return masks.permute(0, 4, 1, 2, 3), occlusions.permute(0, 3, 1, 2)


def _tiles(size: int) -> int:
    return -(-size // TILE)


class _SliceSpectra:
    """The 2-D spectra of a few frames' depth slices, tile by tile, laid out for products over their channels."""

    def __init__(self, x: Tensor, k: int):
        """``x`` (B, C, D, H, W), for kernels ``k`` wide."""
        b, c, d, h, w = self.shape = x.shape
        n, margin, rows, cols = fourier_size(k), k // 2, _tiles(h), _tiles(w)
        # slices channels-last, zero-padded so every tile's window (its outputs and margins) lies inside
        slices = F.pad(x.permute(0, 2, 3, 4, 1), (0, 0, margin, cols * TILE + n - TILE - margin - w,
                                                   margin, rows * TILE + n - TILE - margin - h))
        windows = slices.unfold(2, n, TILE).unfold(3, n, TILE)  # (B, D, rows, cols, C, n, n)
        spectra = torch.fft.rfft2(windows).flatten(-2)  # (B, D, rows, cols, C, F)
        self.tiles = (rows, cols, n, margin)
        self.spectra = spectra.transpose(-1, -2).contiguous().view(-1, spectra.shape[-1], c).transpose(0, 1)

    def _products(self, kernels: Tensor) -> Tensor:
        """Every slice's spectra times every kernel's, summed over the channels:
        (F, C, N) -> (B, D, rows, cols, F, N)."""
        (b, _, d), (rows, cols) = self.shape[:3], self.tiles[:2]
        frequencies, tiles = self.spectra.shape[:2]
        out = torch.empty(tiles, frequencies, kernels.shape[-1], dtype=kernels.dtype, device=kernels.device)
        torch.bmm(self.spectra, kernels, out=out.transpose(0, 1))
        return out.view(b, d, rows, cols, frequencies, -1)

    def _values(self, spectra: Tensor) -> Tensor:
        """Back to space, each tile's outputs only: (B, ..., rows, cols, F, O) -> (B, ..., H, W, O)."""
        h, w = self.shape[-2:]
        rows, cols, n, margin = self.tiles
        values = torch.fft.irfft2(spectra.transpose(-1, -2).unflatten(-1, (n, n // 2 + 1)), s=(n, n))
        # a tile's outputs sit past both margins of its window (the kernels are flipped: convolutions, not correlations)
        values = values[..., 2 * margin:2 * margin + TILE, 2 * margin:2 * margin + TILE]  # (.., rows, cols, O, T, T)
        values = values.movedim(-3, -1).transpose(-3, -4)  # (.., rows, T, cols, T, O)
        return values.flatten(-5, -4).flatten(-3, -2)[..., :h, :w, :]

    def conv3d(self, weight: Tensor) -> Tensor:
        """A 'same' 3-D convolution without bias: (O, C, k, k, k) -> (B, D, H, W, O)."""
        o, _, k = weight.shape[:3]
        taps = self._products(kernel_spectra(weight)).unflatten(-1, (k, o))  # (B, D, rows, cols, F, k, O)
        return self._values(sum_depth_taps(taps))

    def flat_conv2d(self, weight: Tensor) -> Tensor:
        """A 'same' 2-D convolution of the slices flattened into (channel, depth) pairs, without bias:
        (P, C * D, k, k) -> (B, H, W, P)."""
        d = self.shape[2]
        per_depth = self._products(kernel_spectra(weight, d)).unflatten(-1, (d, -1))  # (B, D, rows, cols, F, D', P)
        return self._values(per_depth.diagonal(dim1=1, dim2=-2).sum(-1))


def kernel_spectra(weight: Tensor, depth: int | None = None) -> Tensor:
    """The spectra of the flipped 2-D kernels in ``weight``, tap- or depth-major columns, kept on the weight
    (``kernel_cache.py``): a 3-D kernel (O, C, k, k, k) -> complex (F, C, k * O); a 2-D one over (channel, depth)
    pairs (P, C * depth, k, k) -> complex (F, C, depth * P)."""
    return kept_transform(weight, "_fourier", lambda kernel: _spectra(kernel if depth is None else
                                                                      kernel.unflatten(1, (-1, depth))))


def _spectra(weight: Tensor) -> Tensor:
    """(O, C, k', k, k) -> (F, C, k' * O)."""
    o, c, taps, k = weight.shape[:3] + weight.shape[-1:]
    n = fourier_size(k)
    spectra = torch.fft.rfft2(weight.flip(-2, -1).permute(1, 2, 0, 3, 4), s=(n, n))  # (C, k', O, n, n // 2 + 1)
    return spectra.flatten(-2).permute(3, 0, 1, 2).reshape(-1, c, taps * o).contiguous()


def kept_spectra_bytes(weight: Tensor) -> int:
    """The memory :func:`kernel_spectra` keeps for the float32 ``weight`` of one of :func:`fourier_heads`' convolutions
    (0 for other dtypes, which never take the route): complex64, F per 2-D kernel."""
    if weight.dtype != torch.float32:
        return 0
    k = weight.shape[-1]
    n = fourier_size(k)
    return n * (n // 2 + 1) * weight.numel() // (k * k) * 8
