"""A 'same' convolution of a nearest-upsampled tensor, computed from the tensor before upsampling.

After an s-fold nearest upsampling of height and width, the k taps of a kernel row read at most two
different coarse pixels for k = 3, so each output phase (the pixels at s*i + p, s*j + q) is a small
convolution of the coarse tensor with a kernel whose taps are sums of the original ones. For k = 3 that
is 2x2 taps instead of 3x3 at s = 2 (2.25x less arithmetic) and 1 or 2 taps per axis at s = 4 (4x less);
the upsampled tensor is never made. The generator's SPADE convolutions of its upsampled 64x64 input and the
hourglass decoder's convolutions after each upsampling are of this form.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .winograd import same_conv

MIN_SIZE = 8  # smaller coarse inputs take the direct route: the phases' one-pixel overhang outweighs the saving


def upsample_then_conv(x: Tensor, weight: Tensor, bias: Tensor | None, scale: int, phases: bool = True,
                       winograd: bool = False) -> Tensor:
    """``convNd(interpolate(x, nearest, x scale over H and W), weight, bias, padding=k // 2)``.

    (B, C, H, W) or (B, C, D, H, W) with a kernel of odd size k over H and W -> (B, O, [D,] sH, sW). With ``phases``
    it runs as :func:`conv_by_phases`; a convolution at scale 1 may take Winograd (``winograd.same_conv``).
    """
    if scale > 1 and phases and min(x.shape[-2:]) >= MIN_SIZE:
        return conv_by_phases(x, weight, bias, scale)
    if scale > 1:
        x = F.interpolate(x, scale_factor=(1,) * (x.ndim - 4) + (scale, scale), mode="nearest")
    return same_conv(x, weight, bias, winograd)


def axis_phases(scale: int, kernel: int) -> list[tuple[int, Tensor]]:
    """Per output phase p along one axis: the first coarse offset it reads, and a (taps, kernel) 0/1 matrix
    that adds the kernel's taps reading the same coarse pixel."""
    half = kernel // 2
    phases = []
    for p in range(scale):
        offsets = [(p + t) // scale for t in range(-half, half + 1)]  # coarse offset read by each kernel tap
        fold = torch.zeros(offsets[-1] - offsets[0] + 1, kernel)
        fold[torch.tensor(offsets) - offsets[0], torch.arange(kernel)] = 1
        phases.append((offsets[0], fold))
    return phases


class _Phase(NamedTuple):
    index: int  # p: output pixels s * i + p along the axis
    first: int  # the first coarse offset it reads
    taps: slice  # its rows among all phases' folded taps


def conv_by_phases(x: Tensor, weight: Tensor, bias: Tensor | None, scale: int) -> Tensor:
    """:func:`upsample_then_conv` without the upsampled tensor: one convolution of ``x`` per group of phases
    with the same tap counts, then the phases interleaved. Kernel taps add in float32 or wider."""
    h, w = x.shape[-2:]
    outputs, half = weight.shape[0], weight.shape[-1] // 2
    depth_padding = tuple(n // 2 for n in weight.shape[2:-2])
    layout = _memory_format(x)
    folds = axis_phases(scale, weight.shape[-1])
    stacked = torch.cat([fold for _, fold in folds]).to(x.device, torch.promote_types(weight.dtype, torch.float32))
    # every phase pair's folded kernel at once, (O, C, [kd,] taps, taps); half-precision taps add in float32
    folded = stacked @ weight.to(stacked.dtype).contiguous() @ stacked.T
    groups: dict[int, list[_Phase]] = {}  # tap count -> phases
    start = 0
    for p, (first, fold) in enumerate(folds):
        groups.setdefault(fold.shape[0], []).append(_Phase(p, first, slice(start, start + fold.shape[0])))
        start += fold.shape[0]
    padded, phase_outputs = None, {}
    conv = F.conv2d if x.ndim == 4 else F.conv3d
    for (row_taps, rows), (col_taps, cols) in itertools.product(groups.items(), repeat=2):
        pairs = list(itertools.product(rows, cols))
        kernels = torch.cat([folded[..., row.taps, col.taps] for row, col in pairs])
        kernels = kernels.to(weight.dtype).contiguous(memory_format=layout)
        biases = None if bias is None else bias.repeat(len(pairs))
        # the window of the padded x that the group's phases read: padding 0 around small kernels
        top, left = min(row.first for row in rows) + half, min(col.first for col in cols) + half
        bottom = max(row.first for row in rows) + half + h + row_taps - 1
        right = max(col.first for col in cols) + half + w + col_taps - 1
        if (top, bottom, left, right) == (0, h + 2 * half, 0, w + 2 * half):  # all of it: the conv pads
            z = conv(x, kernels, biases, padding=depth_padding + (half, half))
        else:
            padded = _pad_height_width(x, half) if padded is None else padded
            z = conv(padded[..., top:bottom, left:right], kernels, biases, padding=depth_padding + (0, 0))
        for i, (row, col) in enumerate(pairs):
            y, x0 = row.first + half - top, col.first + half - left  # z index of the phase's first pixel
            phase_outputs[row.index, col.index] = z[:, i * outputs:(i + 1) * outputs, ..., y:y + h, x0:x0 + w]
    return _interleave(phase_outputs, scale, layout)


def _interleave(phase_outputs: dict[tuple[int, int], Tensor], scale: int, layout: torch.memory_format) -> Tensor:
    """(B, O, [D,] H, W) per phase (p, q) -> (B, O, [D,] sH, sW), pixel (s*i + p, s*j + q) from phase (p, q)."""
    first = phase_outputs[0, 0]
    *lead, h, w = first.shape
    out = torch.empty(*lead, scale * h, scale * w, dtype=first.dtype, device=first.device, memory_format=layout)
    pixels = out.unflatten(-1, (w, scale)).unflatten(-3, (h, scale))  # (..., h, p, w, q)
    for (p, q), phase in phase_outputs.items():
        pixels.select(-1, q).select(-2, p).copy_(phase)
    return out


def _pad_height_width(x: Tensor, size: int) -> Tensor:
    """``x`` zero-padded by ``size`` on both sides of its last two axes, in its own memory layout."""
    out = torch.empty(*x.shape[:-2], x.shape[-2] + 2 * size, x.shape[-1] + 2 * size, dtype=x.dtype, device=x.device,
                      memory_format=_memory_format(x)).zero_()
    out[..., size:size + x.shape[-2], size:size + x.shape[-1]] = x
    return out


def _memory_format(x: Tensor) -> torch.memory_format:
    """channels-last (2-D or 3-D) when ``x`` is stored that way, else contiguous."""
    nhwc = torch.channels_last if x.ndim == 4 else torch.channels_last_3d
    return nhwc if x.is_contiguous(memory_format=nhwc) and not x.is_contiguous() else torch.contiguous_format
