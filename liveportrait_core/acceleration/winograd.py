"""'Same' 2-D convolutions, the 3x3 ones by Winograd's minimal filtering F(4x4, 3x3) where that is faster.

F(4x4, 3x3) (Lavin and Gray, arXiv 1509.09308) computes each 4x4 block of outputs from a 6x6 input tile as
``Y = A^T [(G g G^T) * (B^T d B)] A``: per block, 36 channel mixes (36 matrix products of out x in kernels with
in x tiles inputs, one per tile position) instead of 16 x 9, 4x less arithmetic. The tile transforms cost memory
traffic, so it pays where both widths are 128 or more: on the CPU in float32, where the direct convolutions already run
at the vector units' peak, not with 64 channels. Its float32 rounding error is larger than the direct convolution's
(relative ~1e-5 against ~3e-6); in bf16/fp16 it would not be small, and those take the direct route.

The transformed kernels, 4x the size of the 3x3 ones, are kept on their weight
tensor (``kernel_cache.py``), since remaking them on every call is a measurable share of the generator's time. Figures:
``docs/performance.md``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .kernel_cache import kept_transform

TILE = 4  # output pixels per tile side; input tiles are TILE + 2 wide
MIN_CHANNELS = 128  # narrower convolutions are transform-bound
BAND_BYTES = 8 << 20  # transformed input (or output) per band of tile rows: the transforms stay in cache

# The transforms for points 0, +-1, +-2 and infinity, in float64 (their Kronecker squares act on flattened tiles);
# on the CPU explicitly, as this module may first be imported while networks are built on the meta device.
_B_T = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                     [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
                    dtype=torch.float64, device="cpu")
_G = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                   [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64, device="cpu")
_A_T = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                    dtype=torch.float64, device="cpu")
_INPUT = torch.kron(_B_T, _B_T).float()  # (36, 36): flattened 6x6 tile -> its transform
_KERNEL = torch.kron(_G, _G).float()  # (36, 9): flattened 3x3 kernel -> its transform
_OUTPUT = torch.kron(_A_T, _A_T).float()  # (16, 36): transformed product -> flattened 4x4 output block


def same_conv(x: Tensor, weight: Tensor, bias: Tensor | None, winograd: bool = True) -> Tensor:
    """``F.conv2d`` / ``F.conv3d(x, weight, bias, padding=k // 2)``: (B, C, [D,] H, W) -> (B, O, [D,] H, W), 2-D ones
    by :func:`winograd_conv3x3` when ``winograd`` is asked and the convolution :func:`suits` it. 3-D convolutions stay
    direct: by depth taps they gained a few percent of a frame at best."""
    if winograd and x.ndim == 4 and suits(x, weight):
        return winograd_conv3x3(x, weight, bias)
    return (F.conv2d if x.ndim == 4 else F.conv3d)(x, weight, bias, padding=tuple(k // 2 for k in weight.shape[2:]))


def suits(x: Tensor, weight: Tensor) -> bool:
    """Whether F(4x4, 3x3) is the faster and safe route: a :func:`_transformable` kernel, a float32 input, H and W
    multiples of 4."""
    h, w = x.shape[-2:]
    return _transformable(weight) and x.dtype == torch.float32 and h % TILE == 0 and w % TILE == 0


def _transformable(weight: Tensor) -> bool:
    """A float32 3x3 kernel with both widths >= 128."""
    return weight.dtype == torch.float32 and tuple(weight.shape[2:]) == (3, 3) and min(weight.shape[:2]) >= MIN_CHANNELS


def winograd_conv3x3(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """A 3x3 'same' convolution by F(4x4, 3x3): (B, C, H, W) with H, W multiples of 4 -> (B, O, H, W), in ``x``'s
    memory layout (contiguous or channels-last). Runs a band of frames or tile rows at a time so its transforms stay
    in cache."""
    b, c, h, w = x.shape
    kernel = transformed_kernel(weight)  # (36, O, C)
    o = kernel.shape[1]
    rows, cols = h // TILE, w // TILE
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    out = torch.empty(b, o, h, w, dtype=x.dtype, device=x.device,
                      memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    # output blocks: (B, O, rows, 4, cols, 4) for a contiguous tensor, (B, rows, 4, cols, 4, O) for channels-last
    blocks, height = (out.permute(0, 2, 3, 1), 1) if channels_last else (out, 2)
    blocks = blocks.unflatten(height + 1, (cols, TILE)).unflatten(height, (rows, TILE))
    padded = F.pad(x, (1, 1, 1, 1))
    band = max(1, BAND_BYTES // (36 * max(c, o) * cols * x.element_size()))  # tile rows of one frame
    frames, band = (max(1, band // rows), rows) if band >= rows else (1, band)
    to_spectra, to_values = _INPUT.to(x), _OUTPUT.to(x)
    for first in range(0, b, frames):
        f = slice(first, first + frames)
        for top in range(0, rows, band):
            n = min(band, rows - top)
            tiles = padded[f, :, TILE * top: TILE * (top + n) + 2].unfold(2, TILE + 2, TILE).unfold(3, TILE + 2, TILE)
            m = tiles.shape[0]
            if channels_last:  # channels innermost throughout: (36, frames * n * cols, C) -> (.., O)
                spectra = (to_spectra @ tiles.permute(4, 5, 0, 2, 3, 1).reshape(36, -1)).view(36, -1, c)
                products = torch.bmm(spectra, kernel.transpose(1, 2))
                values = (to_values @ products.view(36, -1)).view(TILE, TILE, m, n, cols, o)
                blocks[f, top: top + n].copy_(values.permute(2, 3, 0, 4, 1, 5))
            else:  # pixels innermost: rows of 6 input pixels in, 4x4 output blocks out
                tiles = tiles.transpose(0, 1).reshape(-1, 36)  # (C * frames * n * cols, 36)
                spectra = (to_spectra @ tiles.T).view(36, c, -1)
                products = torch.bmm(kernel, spectra)  # (36, O, frames * n * cols)
                values = (products.view(36, -1).T @ to_values.T).view(o, m, n, cols, TILE, TILE)
                blocks[f, :, top: top + n].copy_(values.permute(1, 0, 2, 4, 3, 5))
    return out if bias is None else out.add_(bias.view(1, -1, 1, 1))


def transformed_kernel(weight: Tensor) -> Tensor:
    """``G g G^T`` of each 3x3 kernel: (O, C, 3, 3) -> (36, O, C), kept on the weight (``kernel_cache.py``)."""
    return kept_transform(weight, "_winograd", _transform_kernel)


def _transform_kernel(weight: Tensor) -> Tensor:
    o, c = weight.shape[:2]
    return (_KERNEL.to(weight) @ weight.reshape(o * c, 9).T).view(36, o, c)


def winograd_kernel_bytes(module: nn.Module) -> int:
    """An upper bound on the memory the transformed kernels of ``module`` take once it has run with the route on: 4x
    every float32 3x3 kernel of 128+ channels each side (some, e.g. those the phases route takes instead, are never
    transformed)."""
    return sum(4 * p.numel() * p.element_size() for p in module.parameters() if _transformable(p))
