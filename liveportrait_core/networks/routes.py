"""Where the networks take faster routes to the official values, and a switch back to the official arithmetic.

Each route computes what the official code computes, up to float rounding, in fewer operations or in shapes
the hardware runs better. It is on for the device types where it was measured faster (a set per route, which
``scripts/gpu_probe.py`` extends to time a route on a GPU):

* ``sliced_heads``: W's mask and occlusion heads as 2-D convolutions over depth slices (``depth_slices.py``).
* ``phases``: convolutions after a nearest upsampling computed per output phase from the smaller tensor
  (``upsampled_conv.py``): G's SPADE convolutions of its upsampled input, the hourglass decoder.
* ``flush_heatmaps``: keypoint heatmap values below the smallest normal float set to zero; subnormal inputs slow
  float32 convolutions on the CPU ~1.5x.
* ``folded_shortcut``: the generator's learned 1x1 shortcut convolutions folded into the beta convolutions of
  their SPADE norms (``spade_generator.py``).
* ``folded_spectral_norm``: G's spectral norm divided into its kernels once, at load, instead of on every call.
* ``float32_channels_last``: float32 G and hourglass stored NHWC / NDHWC (decided when the networks are placed),
  on CPUs with AVX-512 only: with AVX2 alone it was slower (W 1,804 -> 1,981, G 3,842 -> 4,056 ms/frame).
* ``winograd``: float32 3x3 convolutions of 128+ channels each side by Winograd's F(4x4, 3x3) (``winograd.py``),
  4x fewer multiplications; the only route that rounds differently enough to state (relative 1e-5 against 3e-6 for
  the direct convolution).
* ``fourier_heads``: W's mask and occlusion heads in float32 from the 2-D Fourier spectra of tiles of their input's
  depth slices (``fourier_heads.py``), ~15x less arithmetic.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def cpu_float32_channels_last() -> set[str]:
    """The ``float32_channels_last`` devices: the CPU when it has AVX-512 (as torch's kernels see it)."""
    return {"cpu"} if torch.backends.cpu.get_cpu_capability() == "AVX512" else set()


ROUTES: dict[str, set[str]] = {
    "sliced_heads": {"cpu"},
    "phases": {"cpu"},
    "flush_heatmaps": {"cpu", "cuda", "mps"},
    "folded_shortcut": {"cpu"},
    "folded_spectral_norm": {"cpu", "cuda", "mps"},
    "float32_channels_last": cpu_float32_channels_last(),
    "winograd": {"cpu"},
    "fourier_heads": {"cpu"},
}


def takes(route: str, device_type: str) -> bool:
    """Whether ``route`` is on for ``device_type`` ('cpu', 'cuda', ...)."""
    return device_type in ROUTES[route]


@contextlib.contextmanager
def switched(route: str, device_type: str, on: bool) -> Iterator[None]:
    """``route`` on (or off) for ``device_type`` inside the block, as it was after it."""
    was = takes(route, device_type)
    (ROUTES[route].add if on else ROUTES[route].discard)(device_type)
    try:
        yield
    finally:
        (ROUTES[route].add if was else ROUTES[route].discard)(device_type)


@contextlib.contextmanager
def official_arithmetic() -> Iterator[None]:
    """Every route off inside the block: the networks compute as the official code does (the benchmark's
    official-style loop). Networks placed in float32 inside it stay contiguous."""
    saved = {name: set(devices) for name, devices in ROUTES.items()}
    for devices in ROUTES.values():
        devices.clear()
    try:
        yield
    finally:
        for name, devices in saved.items():
            ROUTES[name].update(devices)
