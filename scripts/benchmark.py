#!/usr/bin/env python
"""Benchmark against the official code: per-module and end-to-end ms/frame, speed-ups and deviations.

The baseline is the official LivePortrait code itself: the network modules of KwaiVGI/LivePortrait (MIT), read in
place from $LIVEPORTRAIT_SHARED/bench/official_modules (LIVEPORTRAIT_SHARED defaults to ../shared beside the
checkout; --official DIR overrides) and imported from there as the package ``official_modules``; they are never
copied into this repository. Without them the official side is skipped, with a line saying so, and the plain side
stands in as the baseline. In one process, on the same weights and inputs, three sides:

* official: the official modules, called as the official pipeline calls them: one frame at a time, under fp16
  autocast on CUDA (its default there) and in fp32 on the CPU, every output copied to the host per frame;
* plain: this pack's plain networks (``LivePortraitEngine(..., official=True)``) called the same way, which shows
  that the readable networks cost what the official code costs;
* fast: the engine as users run it, batched, for each --variants entry (PRECISION-compiled or PRECISION-eager).

For each side: ms/frame of F (appearance), M (motion), W (warping), G (generator), W+G, and end to end (M on the
driving frame, the keypoint math with stitching, W, G, frames on the host); the speed-up against the official side;
the first (warm-up, compiling) call's time; and the deviation of the W+G and end-to-end frames from the official
fp32 frames on the same inputs (|d| on the 0..1 scale). Weights: --weights DIR, else the deterministic synthetic
weights of ../shared/conformance (same architecture and cost as the real ones). --json PATH writes every figure.

    .venv/bin/python scripts/benchmark.py --device cpu --frames 2 --batch 2 --repeat 1
    python scripts/benchmark.py --device cuda --frames 64 --batch 32 --json benchmark.json

On a lent GPU machine ../shared does not travel: carry a copy of official_modules in an ignored folder of the
checkout and pass --official.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol, TypeVar

import torch
from torch import Tensor, nn

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.motion.driving import DrivingOptions  # noqa: E402
from liveportrait_core.motion.pose import KeypointInfo  # noqa: E402
from liveportrait_core.motion.retargeting import animate_keypoints  # noqa: E402
from liveportrait_core.motion.sequence import MotionSequence  # noqa: E402
from liveportrait_core.pipeline.engine import LivePortraitEngine, SourceState  # noqa: E402
from liveportrait_core.pipeline.precision import DTYPES, resolve_device  # noqa: E402
from liveportrait_core.pipeline.render import render_chunks, to_uint8  # noqa: E402
from liveportrait_core.weights.files import LivePortraitNetworks, load_networks  # noqa: E402

SHARED = Path(os.environ.get("LIVEPORTRAIT_SHARED", REPO.parent / "shared"))
MODULES = ("F appearance", "M motion", "W warping", "G generator", "W+G", "end to end")
CHECK_FRAMES = 8  # deviations are taken on the first frames only: the fp32 reference is slow
# our network field -> (official module file, class, models.yaml parameters, checkpoint file)
OFFICIAL_NETWORKS = {
    "appearance": ("appearance_feature_extractor", "AppearanceFeatureExtractor", "appearance_feature_extractor_params",
                   "appearance_feature_extractor.pth"),
    "motion": ("motion_extractor", "MotionExtractor", "motion_extractor_params", "motion_extractor.pth"),
    "warping": ("warping_network", "WarpingNetwork", "warping_module_params", "warping_module.pth"),
    "generator": ("spade_generator", "SPADEDecoder", "spade_generator_params", "spade_generator.pth"),
}
# our stitching submodule -> the official checkpoint's sub-dict (models.yaml names them as we do)
OFFICIAL_RETARGETING = {"stitching": "retarget_shoulder", "lip": "retarget_mouth", "eye": "retarget_eye"}
END_TO_END_MATH = ("each side's own M, W, G and stitching networks (the official side: the official modules, "
                   "StitchingRetargetingNetwork included); decoding the motion, relative motion and the stitching "
                   "composition are this pack's liveportrait_core.motion code on every side")
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------- set-up


@dataclass(frozen=True)
class Variant:
    """One way of running the fast side: a precision (fp32, fp16, bf16) and whether W and G are compiled."""

    precision: str
    compiled: bool

    @classmethod
    def parse(cls, spec: str) -> "Variant":
        """``fp16-compiled`` / ``bf16-eager`` -> Variant."""
        precision, _, mode = spec.strip().partition("-")
        if precision not in DTYPES or mode not in ("compiled", "eager"):
            raise argparse.ArgumentTypeError(f"variant {spec!r} is not PRECISION-compiled or PRECISION-eager "
                                             f"with PRECISION one of {', '.join(DTYPES)}")
        return cls(precision, mode == "compiled")

    def __str__(self) -> str:
        return f"{self.precision}-{'compiled' if self.compiled else 'eager'}"


def synthetic_weights() -> Path:
    """The deterministic synthetic weights of ../shared/conformance, generated once into a cache folder."""
    out = Path.home() / ".cache" / "liveportrait-kit-tests" / "weights"
    if not (out / "spade_generator.pth").exists():
        script = SHARED / "conformance" / "make_weights.py"
        subprocess.run([sys.executable, str(script), str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def _load_strict(module: nn.Module, state: dict[str, Tensor], name: str) -> None:
    """Load ``state`` into ``module``; every key must match, apart from BatchNorm's ``num_batches_tracked``."""
    missing, unexpected = module.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"{name}: missing {missing}, unexpected {unexpected}")


def load_official(folder: Path, weights: Path, device: torch.device) -> LivePortraitNetworks:
    """The official modules in ``folder``, imported in place as a package (they use relative imports), configured
    from its ``models.yaml``, with the checkpoints of ``weights``. Held in a :class:`LivePortraitNetworks` only so
    both per-frame sides read the same five fields."""
    import yaml

    sys.path.insert(0, str(folder.parent))
    config = yaml.safe_load((folder / "models.yaml").read_text())["model_params"]

    def checkpoint(name: str) -> dict:
        return torch.load(weights / name, map_location="cpu", weights_only=True)

    modules: dict[str, nn.Module] = {}
    for key, (file, cls, params, ckpt) in OFFICIAL_NETWORKS.items():
        modules[key] = getattr(importlib.import_module(f"{folder.name}.{file}"), cls)(**config[params])
        _load_strict(modules[key], checkpoint(ckpt), ckpt)
    mlp = importlib.import_module(f"{folder.name}.stitching_retargeting_network").StitchingRetargetingNetwork
    stitching, saved = nn.Module(), checkpoint("stitching_retargeting_module.pth")
    for ours, theirs in OFFICIAL_RETARGETING.items():
        net = mlp(**config["stitching_retargeting_module_params"][ours])
        _load_strict(net, {k.removeprefix("module."): v for k, v in saved[theirs].items()}, theirs)
        stitching.add_module(ours, net)
    modules["stitching"] = stitching
    for module in modules.values():
        module.to(device).eval()
    return LivePortraitNetworks(**modules, variant="human")


@dataclass
class Inputs:
    """The same inputs for every side: a feature volume and keypoints for W and G, crops for F and M (and the
    driving frames of the end-to-end run), a source crop for the end-to-end run."""

    feature: Tensor  # (1, 32, 16, 64, 64)
    kp_source: Tensor  # (1, 21, 3)
    kp_driving: Tensor  # (N, 21, 3)
    crops: Tensor  # (N, 3, 256, 256)
    source_image: Tensor  # (1, 3, 256, 256)

    @classmethod
    def random(cls, frames: int, device: torch.device) -> "Inputs":
        """Fixed-seed inputs; drawn on the CPU, so every device gets the same numbers."""
        g = torch.Generator().manual_seed(0)
        kp_source = torch.randn(1, 21, 3, generator=g) * 0.3
        return cls(feature=(torch.randn(1, 32, 16, 64, 64, generator=g) * 0.5).to(device),
                   kp_source=kp_source.to(device),
                   kp_driving=(kp_source + 0.05 * torch.randn(frames, 21, 3, generator=g)).to(device),
                   crops=torch.rand(frames, 3, 256, 256, generator=g).to(device),
                   source_image=torch.rand(1, 3, 256, 256, generator=g).to(device))

    def head(self, n: int) -> "Inputs":
        """The first ``n`` frames."""
        return Inputs(self.feature, self.kp_source, self.kp_driving[:n], self.crops[:n], self.source_image)

    def __len__(self) -> int:
        return self.kp_driving.shape[0]


# ---------------------------------------------------------------------------------------------------- timing


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work, so host timers measure it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(run: Callable[[], T], warm_up: Callable[[], object], device: torch.device,
            repeat: int) -> tuple[float, float, T]:
    """(seconds of the warm-up call, median seconds of ``repeat`` runs, the last run's result). The warm-up call
    comes first and pays for compilation, cuDNN's algorithm search and the allocator's growth."""
    synchronize(device)
    start = time.perf_counter()
    warm_up()
    synchronize(device)
    first = time.perf_counter() - start
    seconds, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return first, statistics.median(seconds), result


class PeakMemory:
    """Peak resident memory (CPU, sampled) or peak allocated memory (CUDA) during a block, in MiB."""

    def __init__(self, device: torch.device):
        self.device, self.peak = device, 0.0

    def _rss(self) -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            self._stop.wait(0.01)

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        else:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            self.peak = torch.cuda.max_memory_allocated() / 2**20
        else:
            self._stop.set()
            self._thread.join()
            self.peak = max(self.peak, self._rss())


@contextlib.contextmanager
def strict_fp32() -> Iterator[None]:
    """TF32 off for cuDNN and matmuls (the fp32 reference), restored afterwards: the sides run with the defaults
    a user gets."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


# ---------------------------------------------------------------------------------------------------- the sides

Chunks = list[tuple[Tensor, int]]  # warping outputs, each with the number of real (unpadded) frames in it


def to_host(tensors: Iterable[Tensor]) -> list[Tensor]:
    """Copies on the host: the official pipeline keeps each frame's motion there (its motion template)."""
    return [t.cpu() for t in tensors]


class Side(Protocol):
    """What the benchmark times on every side; each call covers all frames of its input."""

    def appearance(self, crops: Tensor) -> None: ...
    def motion(self, crops: Tensor) -> None: ...
    def warping(self, inputs: Inputs) -> Chunks: ...
    def generator(self, outs: Chunks) -> Tensor: ...
    def warp_decode(self, inputs: Inputs) -> Tensor: ...
    def end_to_end(self, crops: Tensor) -> Tensor: ...
    def check(self, inputs: Inputs) -> dict[str, Tensor]: ...


class PerFrame:
    """Networks called the way the official pipeline calls them: one frame at a time, every call under its autocast
    (fp16 on CUDA; none in fp32), frames and motion copied to the host frame by frame.

    ``networks`` are the official modules or this pack's plain ones (the same five fields)."""

    def __init__(self, networks: LivePortraitNetworks, device: torch.device, dtype: torch.dtype,
                 options: DrivingOptions, source_image: Tensor):
        self.nets, self.device, self.dtype, self.options = networks, device, dtype, options
        self.source = self._source_state(source_image)

    def _autocast(self) -> contextlib.AbstractContextManager:
        """The official ``inference_ctx``: fp16 autocast on CUDA, nothing in fp32."""
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _motion(self, crop: Tensor) -> dict[str, Tensor]:
        """M on one crop, its outputs in float32 (the official ``get_kp_info``)."""
        with self._autocast():
            return {k: v.float() for k, v in self.nets.motion(crop).items()}

    def _source_state(self, image: Tensor) -> SourceState:
        """The source's feature volume (in float32, as the official ``extract_feature_3d`` returns it) and motion."""
        with self._autocast():
            feature = self.nets.appearance(image).float()
        return SourceState(feature=feature, motion=KeypointInfo.from_raw(self._motion(image)).to_motion())

    def appearance(self, crops: Tensor) -> None:
        for i in range(crops.shape[0]):
            with self._autocast():
                self.nets.appearance(crops[i:i + 1]).float()

    def motion(self, crops: Tensor) -> None:
        for i in range(crops.shape[0]):
            to_host(self._motion(crops[i:i + 1]).values())

    def warping(self, inputs: Inputs) -> Chunks:
        outs = []
        for i in range(len(inputs)):
            with self._autocast():
                outs.append((self.nets.warping(inputs.feature, inputs.kp_driving[i:i + 1], inputs.kp_source)["out"], 1))
        return outs

    def generator(self, outs: Chunks) -> Tensor:
        frames = []
        for out, _ in outs:
            with self._autocast():
                frames.append(self.nets.generator(out).float().cpu())
        return torch.cat(frames)

    def warp_decode(self, inputs: Inputs) -> Tensor:
        frames = []
        for i in range(len(inputs)):
            with self._autocast():
                out = self.nets.warping(inputs.feature, inputs.kp_driving[i:i + 1], inputs.kp_source)["out"]
                frames.append(self.nets.generator(out).float().cpu())
        return torch.cat(frames)

    def end_to_end(self, crops: Tensor) -> Tensor:
        """The official animation loop's shape: each driving frame through M, the keypoint math with the first
        driving frame as the anchor of relative motion, stitching (in fp32, as the official code runs it), W and G."""
        first, frames = None, []
        for i in range(crops.shape[0]):
            motion = KeypointInfo.from_raw(self._motion(crops[i:i + 1])).to_motion()
            first = motion if first is None else first
            both = MotionSequence(**{k: torch.cat([getattr(first, k), getattr(motion, k)])
                                     for k in ("R", "exp", "scale", "t", "kp", "x_s")})
            kp = animate_keypoints(self.nets.stitching, self.source.motion, both, self.options)[1:]
            with self._autocast():
                out = self.nets.warping(self.source.feature, kp, self.source.x_s)["out"]
                frames.append(self.nets.generator(out).float().cpu())
        return torch.cat(frames)

    def check(self, inputs: Inputs) -> dict[str, Tensor]:
        """The W+G and end-to-end frames of ``inputs``, for the deviations."""
        return {"W+G": self.warp_decode(inputs), "end to end": self.end_to_end(inputs.crops)}


def _chunks(x: Tensor, size: int, pad: bool) -> Iterator[tuple[Tensor, int]]:
    """``x`` in chunks of ``size`` frames, each with its count of real frames; with ``pad`` a short last chunk
    repeats its last frame up to ``size``, as ``render_chunks`` does for compiled networks (one batch shape)."""
    for part in x.split(size):
        n = part.shape[0]
        yield (torch.cat([part, part[-1:].expand(size - n, *part.shape[1:])]) if pad and n < size else part), n


class Batched:
    """The engine as users run it: ``batch`` frames at a time through its (accelerated, maybe compiled) networks,
    frames copied to the host chunk by chunk as the pipeline copies them: made uint8 on the device first
    (``render.to_uint8``, the official truncation), a quarter of the bytes of float32 frames."""

    def __init__(self, engine: LivePortraitEngine, batch: int, options: DrivingOptions, source_image: Tensor):
        self.engine, self.batch, self.options = engine, batch, options
        self.source = engine.source(source_image)
        self.to_host: Callable[[Tensor], Tensor] = to_uint8

    def appearance(self, crops: Tensor) -> None:
        for part in crops.split(self.batch):
            self.engine.appearance(part)

    def motion(self, crops: Tensor) -> None:
        for part in crops.split(self.batch):
            to_host(v for v in vars(self.engine.keypoint_info(part)).values() if isinstance(v, Tensor))

    def warping(self, inputs: Inputs) -> Chunks:
        outs = []
        for kd, n in _chunks(inputs.kp_driving, self.batch, self.engine.compiled):
            b = kd.shape[0]
            outs.append((self.engine.warping(inputs.feature.expand(b, -1, -1, -1, -1), kd,
                                             inputs.kp_source.expand(b, -1, -1))["out"], n))
        return outs

    def generator(self, outs: Chunks) -> Tensor:
        return torch.cat([self.to_host(self.engine.generator(out)[:n]) for out, n in outs])

    def warp_decode(self, inputs: Inputs) -> Tensor:
        return torch.cat([self.to_host(chunk) for chunk in render_chunks(
            self.engine.warping, self.engine.generator, inputs.feature, inputs.kp_source, inputs.kp_driving,
            self.batch, pad_last=self.engine.compiled)])

    def end_to_end(self, crops: Tensor) -> Tensor:
        """M in batches, the keypoint math for all frames at once, then ``engine.render`` (its low-precision
        overflow fallback included)."""
        motion = self.engine.motion(crops.split(self.batch), fps=25.0)
        kp = self.engine.driving_keypoints(self.source, motion, self.options)
        return torch.cat([self.to_host(chunk) for chunk in self.engine.render(self.source, kp, chunk_size=self.batch)])

    def check(self, inputs: Inputs) -> dict[str, Tensor]:
        """The W+G and end-to-end frames of ``inputs`` in float32 (not rounded to uint8), for the deviations."""
        self.to_host = Tensor.cpu
        try:
            return {"W+G": self.warp_decode(inputs), "end to end": self.end_to_end(inputs.crops)}
        finally:
            self.to_host = to_uint8


# ---------------------------------------------------------------------------------------------------- measuring


@dataclass
class SideResult:
    """One side's figures, and the first frames of its W+G and end-to-end output for the deviations."""

    name: str  # official, plain, fast
    label: str
    ms_per_frame: dict[str, float]
    first_call_s: dict[str, float]
    first_call_frames: int  # frames of the warm-up call: one per frame, a batch on the fast side
    peak_mib: float
    frames: dict[str, Tensor] = field(repr=False)
    speedup: dict[str, float] = field(default_factory=dict)
    deviation: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict:
        """Every figure, for --json."""
        return {"side": self.name, "label": self.label, "ms_per_frame": self.ms_per_frame,
                "first_call_s": self.first_call_s, "first_call_frames": self.first_call_frames,
                "speedup_vs_baseline": self.speedup,
                "deviation_vs_reference": self.deviation, "end_to_end_peak_mib": self.peak_mib}


def measure_side(name: str, label: str, side: Side, inputs: Inputs, warm_frames: int, device: torch.device,
                 repeat: int) -> SideResult:
    """Time every module of ``side`` over all frames of ``inputs``; warm-up calls take ``warm_frames`` frames
    (one for the per-frame sides, a batch for the fast side, so a compiled graph sees the batch shape)."""
    print(f"measuring {label} ...", flush=True)
    warm, n = inputs.head(warm_frames), len(inputs)
    firsts, medians = {}, {}

    def timed(module: str, run: Callable[[], T], warm_up: Callable[[], object]) -> T:
        firsts[module], seconds, result = measure(run, warm_up, device, repeat)
        medians[module] = seconds / n * 1e3
        return result

    timed("F appearance", lambda: side.appearance(inputs.crops), lambda: side.appearance(warm.crops))
    timed("M motion", lambda: side.motion(inputs.crops), lambda: side.motion(warm.crops))
    outs = timed("W warping", lambda: side.warping(inputs), lambda: side.warping(warm))
    timed("G generator", lambda: side.generator(outs), lambda: side.generator(outs[:1]))
    outs.clear()  # the warping outputs are not needed past here
    timed("W+G", lambda: side.warp_decode(inputs), lambda: side.warp_decode(warm))
    with PeakMemory(device) as memory:
        timed("end to end", lambda: side.end_to_end(inputs.crops), lambda: side.end_to_end(warm.crops))
    return SideResult(name, label, medians, firsts, len(warm), memory.peak, side.check(inputs.head(CHECK_FRAMES)))


def reference_frames(networks: LivePortraitNetworks, inputs: Inputs, device: torch.device,
                     options: DrivingOptions) -> dict[str, Tensor]:
    """W+G and end-to-end frames of ``networks`` in strict fp32, one frame at a time, on the first frames."""
    with strict_fp32():
        side = PerFrame(networks, device, torch.float32, options, inputs.source_image)
        head = inputs.head(CHECK_FRAMES)
        return {"W+G": side.warp_decode(head), "end to end": side.end_to_end(head.crops)}


def deviation(frames: Tensor, reference: Tensor) -> dict[str, float]:
    """Mean and largest |frames - reference|, on the frames' 0..1 scale."""
    d = (frames - reference).abs()
    return {"mean": d.mean().item(), "max": d.max().item()}


def compare(results: list[SideResult], reference: dict[str, Tensor]) -> None:
    """Fill in every side's speed-up against the first side (the baseline) and deviation from ``reference``."""
    baseline = results[0].ms_per_frame
    for result in results:
        result.speedup = {m: baseline[m] / result.ms_per_frame[m] for m in MODULES}
        result.deviation = {m: deviation(result.frames[m], reference[m]) for m in reference}


def sweep(engine: LivePortraitEngine, sizes: list[int], options: DrivingOptions, device: torch.device,
          repeat: int) -> list[tuple[int, float]]:
    """W+G ms/frame of the fast side at each render batch size (one batch of frames each)."""
    rows = []
    for size in sizes:
        inputs = Inputs.random(size, device)
        side = Batched(engine, size, options, inputs.source_image)
        _, seconds, _ = measure(lambda: side.warp_decode(inputs), lambda: side.warp_decode(inputs), device, repeat)
        rows.append((size, seconds / size * 1e3))
    return rows


# ---------------------------------------------------------------------------------------------------- output


def print_tables(results: list[SideResult], reference_label: str) -> None:
    """ms/frame with the speed-up against the first side, then deviations, first calls and peak memory."""
    width = max(len(r.label) for r in results) + 2
    print(f"\nms/frame (speed-up against {results[0].label})")
    print(f"{'side':<{width}}" + "".join(f"{m:>18}" for m in MODULES))
    for r in results:
        print(f"{r.label:<{width}}" + "".join(f"{r.ms_per_frame[m]:>10.1f} ({r.speedup[m]:>4.2f}x)" for m in MODULES))
    print(f"\ndeviation from {reference_label} (|d| on 0..1, first {CHECK_FRAMES} frames at most); first (warm-up) call "
          "in s, one frame on the per-frame sides and one batch on the fast side, compilation included; end-to-end "
          "peak memory")
    print(f"{'side':<{width}}{'W+G mean':>10}{'max':>9}{'e2e mean':>10}{'max':>9}"
          f"{'first W+G s':>13}{'first e2e s':>13}{'peak MiB':>10}")
    for r in results:
        wg, e2e = r.deviation["W+G"], r.deviation["end to end"]
        print(f"{r.label:<{width}}{wg['mean']:>10.1e}{wg['max']:>9.1e}{e2e['mean']:>10.1e}{e2e['max']:>9.1e}"
              f"{r.first_call_s['W+G']:>13.2f}{r.first_call_s['end to end']:>13.2f}{r.peak_mib:>10.0f}")


@torch.inference_mode()
def length_run(weights: Path, device: torch.device, variant: Variant, frames: int, batch: int) -> dict:
    """Render ``frames`` frames of motion into an mp4 through the streaming path users take
    (``pipeline.streaming.render_to_video``: render on the device, encode behind it on its own thread); peak memory
    and time. The source is a random crop: its pixels cost nothing, its frame count is what is measured."""
    import tempfile

    from liveportrait_core.pipeline.streaming import render_to_video

    engine = LivePortraitEngine(load_networks(weights, download=False), device, variant.precision,
                                compile=variant.compiled)
    torch.manual_seed(0)
    source = engine.source(torch.rand(1, 3, 256, 256, device=device))
    base = source.motion
    # a smooth synthetic head motion: the source pose nodding and turning, expression breathing
    phase = torch.linspace(0, 12.0, frames, device=device)[:, None]
    wobble = lambda scale: scale * torch.sin(phase)  # noqa: E731
    rot = torch.matrix_exp(torch.stack([torch.zeros_like(phase), -wobble(0.1), wobble(0.05),
                                        wobble(0.1), torch.zeros_like(phase), -wobble(0.05),
                                        -wobble(0.05), wobble(0.05), torch.zeros_like(phase)], -1).view(frames, 3, 3))
    motion = MotionSequence(R=rot @ base.R, exp=base.exp + 0.01 * torch.sin(phase)[:, :, None], scale=base.scale.expand(frames, 1),
                            t=base.t.expand(frames, 3), fps=25.0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    kp = engine.driving_keypoints(source, motion, DrivingOptions(driving_option="pose-friendly"))
    with tempfile.TemporaryDirectory() as tmp:
        written = render_to_video(engine, source, kp, Path(tmp) / "out.mp4", 25.0, chunk_size=batch)
    seconds = time.perf_counter() - start
    if written != frames:
        raise RuntimeError(f"the streaming render wrote {written} of {frames} frames")
    return {"frames": frames, "ms_per_frame": seconds / frames * 1e3, "variant": str(variant),
            "peak_rss_mib": own_peak_rss_mib(),
            "peak_vram_mib": torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else 0.0}


def own_peak_rss_mib() -> float:
    """This process's peak resident memory. Linux's ``ru_maxrss`` carries the parent's peak across fork and exec, so a
    length run started after the main comparison would report that instead; ``VmHWM`` is this program's own."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):  # no /proc: macOS, whose ru_maxrss is in bytes
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)


def memory_versus_length(args: argparse.Namespace, variant: Variant, weights: Path) -> list[dict]:
    """One fresh process per length, so each peak RSS is that length's own."""
    rows = []
    for n in args.lengths:
        cmd = [sys.executable, __file__, "--device", args.device, "--variants", str(variant), "--batch", str(args.batch),
               "--weights", str(weights), "--length-run", str(n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{r['frames']:>8} frames  {r['ms_per_frame']:>9.1f} ms/frame  peak RSS {r['peak_rss_mib']:>7.0f} MiB"
              f"  peak VRAM {r['peak_vram_mib']:>7.0f} MiB", flush=True)
    return rows


def plot(rows_batch: list[tuple[int, float]], rows_length: list[dict], path: Path, title: str) -> None:
    """ms/frame against batch size, and peak memory against length, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    if rows_batch:
        axes[0].plot(*zip(*rows_batch), marker="o")
    axes[0].set(xlabel="render batch (frames)", ylabel="W + G ms/frame", title="speed vs batch")
    if rows_length:
        n = [r["frames"] for r in rows_length]
        axes[1].plot(n, [r["peak_rss_mib"] for r in rows_length], marker="o", label="peak RSS")
        if any(r["peak_vram_mib"] for r in rows_length):
            axes[1].plot(n, [r["peak_vram_mib"] for r in rows_length], marker="s", label="peak VRAM")
        axes[1].set_xscale("log")
        axes[1].legend()
    axes[1].set(xlabel="frames rendered to file", ylabel="MiB", title="memory vs length")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"plot: {path}")


# ---------------------------------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    """Options; the defaults that depend on the device (frames, batch, repeat, variants) are filled in here."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, help="checkpoint folder (default: the synthetic conformance weights)")
    p.add_argument("--official", type=Path, default=SHARED / "bench" / "official_modules",
                   help="the official modules folder, read in place (default: $LIVEPORTRAIT_SHARED/bench/official_modules)")
    p.add_argument("--device", default="auto")
    p.add_argument("--frames", type=int, help="frames per timed run (default: 64 on CUDA, 2 on the CPU)")
    p.add_argument("--batch", type=int, help="the fast side's render batch (default: 32 on CUDA, 4 on the CPU)")
    p.add_argument("--repeat", type=int, help="timed runs per figure, the median is kept (default: 3 on CUDA, 1 on the CPU)")
    p.add_argument("--variants", type=lambda v: [Variant.parse(s) for s in v.split(",")],
                   help="the fast side's PRECISION-compiled / PRECISION-eager runs, comma separated (default: "
                        "fp16-compiled,bf16-compiled,fp16-eager on CUDA, fp32-eager,bf16-eager on the CPU); "
                        "the first is also the one --sweep and --lengths run")
    p.add_argument("--json", type=Path, help="write every figure to this file")
    p.add_argument("--sweep", type=lambda v: [int(x) for x in v.split(",")], default=[],
                   help="also time the first variant's W+G at these batch sizes, e.g. 1,4,16")
    p.add_argument("--lengths", type=lambda v: [int(x) for x in v.split(",")], default=[],
                   help="memory-versus-length run: render this many frames to a file, each in its own process")
    p.add_argument("--lengths-only", action="store_true", help="only the --lengths runs, no side-by-side comparison")
    p.add_argument("--plot", type=Path, help="write a PNG of ms/frame vs batch and memory vs length")
    p.add_argument("--length-run", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    cuda = resolve_device(args.device).type == "cuda"
    args.frames = args.frames or (64 if cuda else 2)
    args.batch = args.batch or (32 if cuda else 4)
    args.repeat = args.repeat or (3 if cuda else 1)
    default_variants = "fp16-compiled,bf16-compiled,fp16-eager" if cuda else "fp32-eager,bf16-eager"
    args.variants = args.variants or [Variant.parse(s) for s in default_variants.split(",")]
    return args


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model and thread count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        model = "CPU"
    return f"{model}, {torch.get_num_threads()} threads"


@torch.inference_mode()
def main() -> None:
    args = parse_args()
    device = resolve_device(args.device)
    weights = args.weights or synthetic_weights()
    if args.length_run:
        print(json.dumps(length_run(weights, device, args.variants[0], args.length_run, args.batch)))
        return
    if args.lengths_only:
        rows = memory_versus_length(args, args.variants[0], weights)
        if args.json:
            args.json.write_text(json.dumps({"device": device_name(device), "torch": torch.__version__, "lengths": rows},
                                            indent=2))
        return

    official_dtype = torch.float16 if device.type == "cuda" else torch.float32  # the official pipeline's default
    per_frame = f"{'fp16 autocast' if official_dtype == torch.float16 else 'fp32'}, per frame"
    options, inputs = DrivingOptions(), Inputs.random(args.frames, device)
    name = device_name(device)
    print(f"device: {name}; torch {torch.__version__}; {args.frames} frames; fast batch {args.batch}; "
          f"median of {args.repeat}")
    official = args.official / "models.yaml"
    print(f"official: {args.official}, read in place" if official.exists() else
          f"official: no modules at {args.official} (set --official or LIVEPORTRAIT_SHARED): official side SKIPPED, "
          "the plain side is the baseline and the deviation reference")
    print(f"end to end: {END_TO_END_MATH}", flush=True)

    results, reference_nets = [], None
    if official.exists():
        reference_nets = load_official(args.official, weights, device)
        results.append(measure_side("official", f"official, {per_frame}",
                                    PerFrame(reference_nets, device, official_dtype, options, inputs.source_image),
                                    inputs, 1, device, args.repeat))
    plain = LivePortraitEngine(load_networks(weights, download=False), device, "fp32", official=True)
    results.append(measure_side("plain", f"plain, {per_frame}",
                                PerFrame(plain.networks, device, official_dtype, options, inputs.source_image),
                                inputs, 1, device, args.repeat))
    reference_nets = reference_nets or plain.networks
    reference_label = f"{results[0].name} fp32"
    # on the CPU the baseline already ran in fp32 (TF32 does not exist there): its frames are the reference
    reference = results[0].frames if official_dtype == torch.float32 else reference_frames(reference_nets, inputs, device, options)
    del reference_nets, plain

    rows_batch: list[tuple[int, float]] = []
    for i, variant in enumerate(args.variants):
        engine = LivePortraitEngine(load_networks(weights, download=False), device, variant.precision,
                                    compile=variant.compiled)
        results.append(measure_side("fast", f"fast, {variant}, batch {args.batch}",
                                    Batched(engine, args.batch, options, inputs.source_image),
                                    inputs, min(args.batch, args.frames), device, args.repeat))
        if i == 0 and args.sweep:
            rows_batch = sweep(engine, args.sweep, options, device, args.repeat)
        del engine
        if device.type == "cuda":
            torch.cuda.empty_cache()

    compare(results, reference)
    print_tables(results, reference_label)
    for size, ms in rows_batch:
        print(f"W+G {args.variants[0]} batch {size:>3}: {ms:8.1f} ms/frame")
    rows_length = memory_versus_length(args, args.variants[0], weights) if args.lengths else []
    if args.json:
        args.json.write_text(json.dumps({
            "device": name, "torch": torch.__version__, "frames": args.frames, "batch": args.batch,
            "repeat": args.repeat, "official_modules": str(args.official) if official.exists() else None,
            "baseline": results[0].label, "deviation_reference": reference_label, "deviation_frames":
            min(args.frames, CHECK_FRAMES), "end_to_end": END_TO_END_MATH, "sides": [r.summary() for r in results],
            "sweep": [{"batch": b, "wg_ms_per_frame": ms} for b, ms in rows_batch], "lengths": rows_length,
        }, indent=2))
        print(f"json: {args.json}")
    if args.plot:
        plot(rows_batch, rows_length, args.plot, f"{name}, fast {args.variants[0]}")


if __name__ == "__main__":
    main()
