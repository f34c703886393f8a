"""The LivePortrait engine: loaded networks on one device and precision, and the steps the CLI and nodes call."""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch
from torch import Tensor, nn

from ..motion.driving import DrivingOptions
from ..motion.pose import KeypointInfo
from ..motion.retargeting import animate_keypoints
from ..motion.sequence import MotionSequence
from ..networks import build_network
from ..weights.files import LivePortraitNetworks, load_networks
from .precision import apply_precision, cpu_has_bf16_matrix_units, resolve_device, resolve_dtype
from .render import ProgressHook, auto_chunk_size, render_chunks, warp_decode


# What ``compile=True`` compiles, per device type. On the CPU nothing: since the generator's eager path lost its
# elementwise passes (2026-11-27), the compiled one is no faster (bf16, batch 4: 541-554 against 513-517 ms/frame in one
# process; 578 against 572 in the benchmark), and a compiled warping module was slower still (419 against ~300).
# On CUDA (H200, bf16, batch 32) compiling both took W + G from 4.62 (W eager) to 3.85 ms/frame.
COMPILED_PARTS: dict[str, tuple[str, ...]] = {"cpu": (), "cuda": ("warping", "generator")}
# Frames the generator takes at a time, per device type (else the whole render chunk). On the CPU one frame's
# activations (up to 256 x 256 x 256) already fill the caches: one at a time ran faster than four (bf16 436-449 against
# 463-482, fp32 2,024-2,218 against 2,291-2,358 ms/frame), while the warping module gains from the chunk (fp32 batch 4
# 1,090-1,155 against 1,194-1,238).
GENERATOR_FRAMES: dict[str, int] = {"cpu": 1}


@dataclass
class SourceState:
    """What rendering needs of one source face: its feature volume and its own motion (one frame)."""

    feature: Tensor  # (1, 32, 16, 64, 64)
    motion: MotionSequence  # one frame with kp and x_s (and eye/lip ratios when known)

    @property
    def x_s(self) -> Tensor:
        """(1, 21, 3) posed source keypoints."""
        return self.motion.x_s


class _CompileOrEager(nn.Module):
    """Runs a ``torch.compile``d module, and falls back to eager for good if compilation fails.

    Inductor's freezing folds the (inference-only) weights into the graph, which lets it pick
    blocked/channels-last layouts for the convolutions; it is what makes compilation pay off on CPU.
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


class _FramesAtATime(nn.Module):
    """Runs ``module`` on at most ``frames`` frames at a time and concatenates the results."""

    def __init__(self, module: nn.Module, frames: int):
        super().__init__()
        self.module, self.frames = module, frames

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[0] <= self.frames:
            return self.module(x)
        return torch.cat([self.module(part) for part in x.split(self.frames)])


class LivePortraitEngine:
    """Five networks plus the device/precision policy; every method is batched over frames.

    The engine owns the networks it is given: it moves them to its device and, for fp16/bf16, stores the
    heavy parts of the warping module and the generator in that precision (see ``precision.LOW_PRECISION_PARTS``).
    """

    def __init__(self, networks: LivePortraitNetworks, device: torch.device | str = "auto", precision: str = "auto",
                 compile: bool = False):
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(precision, self.device)
        if precision == "auto" and self.device.type == "cpu" and cpu_has_bf16_matrix_units():
            logging.getLogger(__name__).info(
                "LivePortrait runs in fp32 on the CPU by default; this CPU has AMX matrix units, on which precision "
                "'bf16' renders about 4x faster (tested deviation from fp32: mean <= 0.010 on a 0-1 scale)")
        self.networks = networks
        for field in ("appearance", "motion", "warping", "generator", "stitching"):
            getattr(networks, field).to(self.device).eval()
        apply_precision({"warping": networks.warping, "generator": networks.generator}, self.dtype, self.device, compile)
        parts = COMPILED_PARTS.get(self.device.type, ("generator",)) if compile else ()
        self.warping: nn.Module = _CompileOrEager(networks.warping) if "warping" in parts else networks.warping
        self.generator: nn.Module = _CompileOrEager(networks.generator) if "generator" in parts else networks.generator
        if self.device.type in GENERATOR_FRAMES:
            self.generator = _FramesAtATime(self.generator, GENERATOR_FRAMES[self.device.type])
        self.compiled = bool(parts)
        self._float32: tuple[nn.Module, nn.Module] | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, variant: str = "human", device: torch.device | str = "auto",
                    precision: str = "auto", download: bool = True, compile: bool = False) -> "LivePortraitEngine":
        """Load the official (or converted) checkpoints of ``variant`` from ``folder``; see ``model_files``."""
        return cls(load_networks(folder, variant, download=download), device, precision, compile)

    @torch.inference_mode()
    def keypoint_info(self, images: Tensor) -> KeypointInfo:
        """(N, 3, 256, 256) in [0, 1] -> decoded motion-extractor output, in float32."""
        return KeypointInfo.from_raw(self.networks.motion(images.to(self.device)))

    @torch.inference_mode()
    def appearance(self, images: Tensor) -> Tensor:
        """(N, 3, 256, 256) crops in [0, 1] -> (N, 32, 16, 64, 64) feature volumes."""
        return self.networks.appearance(images.to(self.device))

    @torch.inference_mode()
    def source(self, image: Tensor, eye_ratio: Tensor | None = None, lip_ratio: Tensor | None = None) -> SourceState:
        """(1, 3, 256, 256) source crop -> its feature volume and motion (ratios (1, 2) / (1, 1) when known)."""
        image = image.to(self.device)
        feature = self.appearance(image)
        motion = self.keypoint_info(image).to_motion()
        motion.eye_ratio, motion.lip_ratio = eye_ratio, lip_ratio
        return SourceState(feature=feature, motion=motion)

    def motion(self, chunks: Iterable[Tensor], fps: float) -> MotionSequence:
        """Driving motion from (n, 3, 256, 256) chunks of frames; only the small motion tensors are kept."""
        parts = [self.keypoint_info(chunk).to_motion() for chunk in chunks]
        if not parts:
            raise ValueError("the driving input has no frames")
        return MotionSequence(**{k: torch.cat([getattr(p, k) for p in parts]) for k in ("R", "exp", "scale", "t", "kp", "x_s")},
                              fps=fps)

    @torch.inference_mode()
    def driving_keypoints(self, source: SourceState, driving: MotionSequence, options: DrivingOptions,
                          driving_is_image: bool = False) -> Tensor:
        """(N, 21, 3) final driving keypoints for every frame (relative motion, stitching, retargeting, multiplier)."""
        return animate_keypoints(self.networks.stitching, source.motion, driving.to(self.device), options,
                                 driving_is_image=driving_is_image)

    def render(self, source: SourceState, kp_driving: Tensor, chunk_size: int | None = None,
               on_progress: ProgressHook | None = None) -> Iterator[Tensor]:
        """Yield float32 (n, 3, 512, 512) frames for the N driving keypoint sets, ``chunk_size`` at a time
        (None: as many as fit in half the free memory, see ``render.auto_chunk_size``). In fp16/bf16, a chunk
        that overflows is rendered again in float32."""
        fallback = None
        if self.dtype != torch.float32:
            def fallback(kd: Tensor) -> Tensor:
                return warp_decode(*self._float32_networks(), source.feature, source.x_s, kd)
        return render_chunks(self.warping, self.generator, source.feature, source.x_s, kp_driving.to(self.device),
                             chunk_size or auto_chunk_size(self.device, self.dtype), on_progress,
                             pad_last=self.compiled, fallback=fallback)

    def _float32_networks(self) -> tuple[nn.Module, nn.Module]:
        """float32 copies of the low-precision warping module and generator, made on first use."""
        if self._float32 is None:
            self._float32 = tuple(_float32_copy(name, module, self.device) for name, module in
                                  (("warping_module", self.networks.warping), ("spade_generator", self.networks.generator)))
        return self._float32


def _float32_copy(name: str, module: nn.Module, device: torch.device) -> nn.Module:
    """A fresh float32 network holding ``module``'s (possibly low-precision) weights."""
    copy = build_network(name).to(device)
    copy.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in module.state_dict().items()})
    return copy
