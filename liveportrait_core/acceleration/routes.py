"""Which faster equivalents of the official computation a device takes: one frozen choice per engine, no switches.

Each route computes what the official code computes, up to float rounding, in fewer operations or in shapes the
hardware runs better. :meth:`Routes.for_device` gives the routes measured faster on a device type; the official
computation is the networks with no route applied (:meth:`Routes.none`). What each route gained, per CPU kind and
GPU, is in ``docs/performance.md``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Routes:
    """The routes :func:`~liveportrait_core.acceleration.accelerate` applies; each names the module that holds it."""

    folded_spectral_norm: bool = False  # G's spectral norm divided into its kernels once (``generator.py``)
    folded_shortcut: bool = False  # G's 1x1 shortcut folded into its SPADE beta convolution (``generator.py``)
    flush_heatmaps: bool = False  # heatmap tails below the smallest normal float set to 0: subnormals are slow
    phases: bool = False  # convolutions of nearest-upsampled tensors per output phase (``upsampled_conv.py``)
    winograd: bool = False  # float32 3x3 convolutions of 128+ channels by F(4x4, 3x3) (``winograd.py``)
    fourier_heads: bool = False  # W's float32 mask and occlusion heads from tile spectra (``fourier_heads.py``)
    sliced_heads: bool = False  # W's half-precision heads as 2-D convolutions of depth slices (``depth_slices.py``)
    float32_channels_last: bool = False  # float32 G and hourglass stored NHWC / NDHWC (``layouts.py``)

    @classmethod
    def none(cls) -> "Routes":
        """The official computation."""
        return cls()

    @classmethod
    def for_device(cls, device_type: str) -> "Routes":
        """The routes measured faster on ``device_type`` ('cpu', 'cuda', 'mps', ...)."""
        if device_type == "cpu":
            return cls(folded_spectral_norm=True, folded_shortcut=True, flush_heatmaps=True, phases=True,
                       winograd=True, fourier_heads=True, sliced_heads=True,
                       float32_channels_last=cpu_float32_channels_last())
        if device_type == "cuda":
            return cls(folded_spectral_norm=True, folded_shortcut=True, flush_heatmaps=True, phases=True,
                       sliced_heads=True)
        return cls(folded_spectral_norm=True, flush_heatmaps=True)

    def for_compiled(self) -> "Routes":
        """These routes inside a ``torch.compile``d graph: the hand-written kernels (phases, Winograd, Fourier heads)
        stay out, as inductor's code for them ran slower than the plain convolutions it fuses."""
        return dataclasses.replace(self, phases=False, winograd=False, fourier_heads=False)


def cpu_float32_channels_last() -> bool:
    """Whether float32 gains from channels-last on this CPU: with AVX-512 (as torch's kernels see it) it does, with
    AVX2 alone it ran slower."""
    return torch.backends.cpu.get_cpu_capability() == "AVX512"
