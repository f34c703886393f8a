"""The LivePortrait engine: loaded networks on one device and precision, and the steps the CLI and nodes call."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import torch
from torch import Tensor, nn

from ..acceleration import Routes, accelerate, accelerate_renderer
from ..acceleration.runtime import compiled_parts, runners
from ..motion.driving import DrivingOptions
from ..motion.pose import KeypointInfo
from ..motion.retargeting import animate_keypoints
from ..motion.sequence import MotionSequence
from ..networks import build_network
from ..profiling import StageTimer
from ..weights.files import LivePortraitNetworks, load_networks
from .precision import cpu_has_bf16_matrix_units, resolve_device, resolve_dtype
from .render import ProgressHook, auto_chunk_size, render_chunks, warp_decode


@dataclass
class SourceState:
    """What rendering needs of one source face: its feature volume and its own motion (one frame)."""

    feature: Tensor  # (1, 32, 16, 64, 64)
    motion: MotionSequence  # one frame with kp and x_s (and eye/lip ratios when known)

    @property
    def x_s(self) -> Tensor:
        """(1, 21, 3) posed source keypoints."""
        return self.motion.x_s


class LivePortraitEngine:
    """Five networks plus the device/precision policy; every method is batched over frames.

    The engine owns the networks it is given: it moves them to its device and swaps in the faster drop-ins of
    :func:`~liveportrait_core.acceleration.accelerate`, which also stores the heavy parts of the warping module and
    the generator in fp16/bf16 when asked (``acceleration/layouts.py``).
    """

    def __init__(self, networks: LivePortraitNetworks, device: torch.device | str = "auto", precision: str = "auto",
                 compile: bool = False, routes: Routes | None = None, official: bool = False):
        """``routes`` picks the faster drop-ins (default: the device's, :meth:`Routes.for_device`); ``official``
        keeps the networks as the official code computes them (no drop-in, float32), the benchmarks' baseline."""
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(precision, self.device)
        if official and self.dtype != torch.float32:
            raise ValueError("the official computation runs in float32 here; wrap its calls in torch.autocast for the "
                             "official half-precision path")
        if precision == "auto" and self.device.type == "cpu" and cpu_has_bf16_matrix_units():
            logging.getLogger(__name__).info(
                "LivePortrait runs in fp32 on the CPU by default; this CPU has AMX matrix units, on which precision "
                "'bf16' renders about 4x faster (tested deviation from fp32: mean <= 0.010 on a 0-1 scale)")
        for field in ("appearance", "motion", "warping", "generator", "stitching"):
            getattr(networks, field).to(self.device).eval()
        self.routes = routes or Routes.for_device(self.device.type)
        self.networks = networks if official else accelerate(networks, self.device, self.dtype, compile, self.routes)
        self.warping, self.generator = runners(networks.warping, networks.generator, self.device, compile)
        self.compiled = bool(compiled_parts(self.device, compile))
        self._float32: tuple[nn.Module, nn.Module] | None = None

    @classmethod
    def from_folder(cls, folder: str | Path, variant: str = "human", device: torch.device | str = "auto",
                    precision: str = "auto", download: bool = True, compile: bool = False) -> "LivePortraitEngine":
        """Load the official (or converted) checkpoints of ``variant`` from ``folder``; see ``weights/files.py``."""
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

    def motion(self, chunks: Iterable[Tensor], fps: float, timer: StageTimer | None = None) -> MotionSequence:
        """Driving motion from (n, 3, 256, 256) chunks of frames; only the small motion tensors are kept.
        ``timer`` counts the motion extractor's work as the stage "motion"."""
        timer = timer or StageTimer(enabled=False)
        parts = []
        for chunk in chunks:
            with timer.device_stage("motion", self.device):
                parts.append(self.keypoint_info(chunk).to_motion())
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
        (None: as many as fit in half the free memory, see ``pipeline/render.py``). In fp16/bf16, a chunk
        that overflows is rendered again in float32."""
        fallback = None
        if self.dtype != torch.float32:
            def fallback(kd: Tensor) -> Tensor:
                return warp_decode(*self._float32_networks(), source.feature, source.x_s, kd)
        return render_chunks(self.warping, self.generator, source.feature, source.x_s, kp_driving.to(self.device),
                             chunk_size or auto_chunk_size(self.device, self.dtype), on_progress,
                             pad_last=self.compiled, fallback=fallback)

    def _float32_networks(self) -> tuple[nn.Module, nn.Module]:
        """Eager float32 copies of the low-precision warping module and generator, made on first use."""
        if self._float32 is None:
            plain = (_float32_copy(name, module) for name, module in
                     (("warping_module", self.networks.warping), ("spade_generator", self.networks.generator)))
            self._float32 = accelerate_renderer(*(m.to(self.device) for m in plain), self.device, torch.float32,
                                                routes=self.routes)
        return self._float32


def _float32_copy(name: str, module: nn.Module) -> nn.Module:
    """A fresh official float32 network holding ``module``'s (possibly low-precision, accelerated) weights: the
    drop-ins keep the official parameter names."""
    copy = build_network(name)
    copy.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in module.state_dict().items()})
    return copy
