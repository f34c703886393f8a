"""How the warping module and generator are run: compiled where it pays, the generator a few frames at a time."""
from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn

# What ``compile=True`` compiles, per device type (else the generator): nothing on the CPU, where the eager routes are
# as fast; both heavy networks on CUDA.
COMPILED_PARTS: dict[str, tuple[str, ...]] = {"cpu": (), "cuda": ("warping", "generator")}
# Frames the generator takes at a time, per device type (else the whole render chunk): on the CPU one frame's
# activations already fill the caches.
GENERATOR_FRAMES: dict[str, int] = {"cpu": 1}


def compiled_parts(device: torch.device, compile: bool) -> tuple[str, ...]:
    """The networks (``warping``, ``generator``) that ``compile`` compiles on ``device``."""
    return COMPILED_PARTS.get(device.type, ("generator",)) if compile else ()


class CompileOrEager(nn.Module):
    """Runs a ``torch.compile``d module, and falls back to eager for good if compilation fails.

    Inductor's freezing folds the (inference-only) weights into the graph, which lets it pick blocked/channels-last
    layouts for the convolutions.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.eager = module
        self.compiled = torch.compile(module, options={"freezing": True})
        self.failed = False

    def forward(self, *args, **kwargs):
        if not self.failed:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as err:  # compilers fail in many ways (no C compiler, unsupported backend ...)
                warnings.warn(f"torch.compile failed ({type(err).__name__}: {err}); running eagerly instead")
                self.failed = True
        return self.eager(*args, **kwargs)


class FramesAtATime(nn.Module):
    """Runs ``module`` on at most ``frames`` frames at a time and concatenates the results."""

    def __init__(self, module: nn.Module, frames: int):
        super().__init__()
        self.module, self.frames = module, frames

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] <= self.frames:
            return self.module(x)
        return torch.cat([self.module(part) for part in x.split(self.frames)])


def runners(warping: nn.Module, generator: nn.Module, device: torch.device,
            compile: bool) -> tuple[nn.Module, nn.Module]:
    """The callables that render with ``warping`` and ``generator`` on ``device``: compiled parts wrapped in
    :class:`CompileOrEager`, the generator split by :data:`GENERATOR_FRAMES`."""
    parts = compiled_parts(device, compile)
    warping = CompileOrEager(warping) if "warping" in parts else warping
    generator = CompileOrEager(generator) if "generator" in parts else generator
    if device.type in GENERATOR_FRAMES:
        generator = FramesAtATime(generator, GENERATOR_FRAMES[device.type])
    return warping, generator
