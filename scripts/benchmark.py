#!/usr/bin/env python
"""Benchmark: per-module and end-to-end ms/frame, official-style per-frame loop vs our batched path.

Both run in this one process on the same weights and inputs, so every figure comes with a ratio
that holds on a noisy machine. Without --weights, the deterministic synthetic weights of
../shared/conformance are generated into a cache folder (same architecture and cost as the real ones).

    .venv/bin/python scripts/benchmark.py --device cpu --frames 4 --batch 4
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.driving import DrivingOptions  # noqa: E402
from liveportrait_core.engine import LivePortraitEngine  # noqa: E402
from liveportrait_core.model_files import load_networks  # noqa: E402
from liveportrait_core.pose import KeypointInfo  # noqa: E402
from liveportrait_core.precision import resolve_device  # noqa: E402
from liveportrait_core.retargeting import animate_keypoints  # noqa: E402


def autocast(device: torch.device, dtype: torch.dtype):
    """What the official pipeline wraps every network call in (fp16 autocast on GPU; nothing in fp32)."""
    return contextlib.nullcontext() if dtype == torch.float32 else torch.autocast(device.type, dtype=dtype)


def synthetic_weights() -> Path:
    out = Path.home() / ".cache" / "liveportrait-kit-tests" / "weights"
    if not (out / "spade_generator.pth").exists():
        script = Path(os.environ.get("LIVEPORTRAIT_SHARED", REPO.parent / "shared")) / "conformance" / "make_weights.py"
        subprocess.run([sys.executable, str(script), str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


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


def timed(fn, device: torch.device, repeat: int = 1) -> float:
    """Seconds per call (one warm-up call first)."""
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeat


def official_style_loop(engine: LivePortraitEngine, source, frames: torch.Tensor, options: DrivingOptions, dtype: torch.dtype) -> None:
    """The official pipeline's shape: every driving frame goes through M, the math, S, W and G alone."""
    nets, dev = engine.networks, engine.device
    first = None
    for i in range(frames.shape[0]):
        with autocast(dev, dtype):
            raw = nets.motion(frames[i:i + 1])
        motion = KeypointInfo.from_raw({k: v.float() for k, v in raw.items()}).to_motion()
        first = motion if first is None else first
        both = type(motion)(**{k: torch.cat([getattr(first, k), getattr(motion, k)]) for k in ("R", "exp", "scale", "t", "kp", "x_s")})
        kp = animate_keypoints(nets.stitching, source.motion, both, options)[1:]
        with autocast(dev, dtype):
            nets.generator(nets.warping(source.feature, kp, source.x_s)["out"])


@torch.inference_mode()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--frames", type=int, default=4, help="driving frames per end-to-end run")
    p.add_argument("--batch", type=int, default=4, help="our render chunk size")
    p.add_argument("--precision", default="auto", help="our precision (auto: bf16/fp16 on GPU, fp32 on CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile our generator")
    args = p.parse_args()

    device = resolve_device(args.device)
    baseline_dtype = torch.float16 if device.type == "cuda" else torch.float32  # the official defaults
    weights = args.weights or synthetic_weights()
    ours = LivePortraitEngine(load_networks(weights, download=False), device, args.precision, compile=args.compile)
    official = LivePortraitEngine(load_networks(weights, download=False), device, "fp32")  # + autocast below
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256, device=device)
    frames = (image + 0.05 * torch.randn(args.frames, 3, 256, 256, device=device)).clamp(0, 1)
    options = DrivingOptions()
    source = ours.source(image)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; ours {str(ours.dtype)[6:]} batch {args.batch}"
          f"{' compiled' if args.compile else ''}; "
          f"official-style {str(baseline_dtype)[6:]} batch 1\n")

    nets, onets = ours.networks, official.networks
    b = args.batch
    feat_b = source.feature.expand(b, -1, -1, -1, -1)
    kp_b = source.x_s.expand(b, -1, -1)
    wout = onets.warping(source.feature, source.x_s, source.x_s)["out"]
    rows = []
    for label, one_frame, batched in [
        ("F appearance", lambda n: n.appearance(image), None),
        ("M motion", lambda n: n.motion(frames[:1]), lambda n: n.motion(frames[:1].expand(b, -1, -1, -1))),
        ("W warping", lambda n: n.warping(source.feature, source.x_s, source.x_s), lambda n: n.warping(feat_b, kp_b, kp_b)),
        ("G generator", lambda n: n.generator(wout), lambda n: (ours.generator if n is nets else n.generator)(wout.expand(b, -1, -1, -1))),
    ]:
        with autocast(device, baseline_dtype):
            one = timed(lambda: one_frame(onets), device)
        many = timed(lambda: batched(nets), device) / b if batched else float("nan")
        rows.append((label, one * 1e3, many * 1e3))
    print(f"{'module':<14}{'official-style ms/frame':>26}{'ours ms/frame':>16}{'ratio':>8}")
    for label, one, many in rows:
        print(f"{label:<14}{one:>26.1f}{many:>16.1f}{one / many if many == many else float('nan'):>8.2f}")

    with PeakMemory(device) as mem_off:
        t_off = timed(lambda: official_style_loop(official, source, frames, options, baseline_dtype), device) / args.frames

    def ours_run():
        motion = ours.motion([frames], fps=25.0)
        kp = ours.driving_keypoints(source, motion, options)
        for _ in ours.render(source, kp, chunk_size=args.batch):
            pass

    with PeakMemory(device) as mem_ours:
        t_ours = timed(ours_run, device) / args.frames
    unit = "peak VRAM" if device.type == "cuda" else "peak RSS"
    print(f"\nend to end ({args.frames} frames)   ms/frame   {unit} MiB")
    print(f"official-style loop    {t_off * 1e3:>10.1f}   {mem_off.peak:>10.0f}")
    print(f"ours                   {t_ours * 1e3:>10.1f}   {mem_ours.peak:>10.0f}")
    print(f"speed-up               {t_off / t_ours:>10.2f}x")


if __name__ == "__main__":
    main()
