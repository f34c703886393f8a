#!/usr/bin/env python
"""Benchmark: per-module and end-to-end ms/frame, official-style per-frame loop vs our batched path.

Both run in this one process on the same weights and inputs, so every figure comes with a ratio
that holds on a noisy machine. The official-style loop has the official pipeline's shape and precision
and runs this pack's official networks (liveportrait_core/networks/, the acceleration pass not applied), so
they compute as the official code does; --conservative accelerates them for it too, which shows what
batching and low precision alone give. Without --weights, the deterministic synthetic weights of
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

from liveportrait_core.motion.driving import DrivingOptions  # noqa: E402
from liveportrait_core.motion.pose import KeypointInfo  # noqa: E402
from liveportrait_core.motion.retargeting import animate_keypoints  # noqa: E402
from liveportrait_core.pipeline.engine import LivePortraitEngine  # noqa: E402
from liveportrait_core.pipeline.precision import resolve_device  # noqa: E402
from liveportrait_core.weights.files import load_networks  # noqa: E402


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
def length_run(weights: Path, device: torch.device, precision: str, frames: int, batch: int) -> dict:
    """Render ``frames`` frames of motion into an mp4 as the streaming path does; peak memory and time."""
    import tempfile

    from liveportrait_core.media import VideoWriter
    from liveportrait_core.motion.sequence import MotionSequence
    from liveportrait_core.pipeline.render import to_uint8

    engine = LivePortraitEngine(load_networks(weights, download=False), device, precision)
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
    with tempfile.TemporaryDirectory() as tmp, VideoWriter(Path(tmp) / "out.mp4", 25.0, preset="ultrafast") as writer:
        for chunk in engine.render(source, kp, chunk_size=batch):
            writer.write(to_uint8(chunk).numpy())
    seconds = time.perf_counter() - start
    return {"frames": frames, "ms_per_frame": seconds / frames * 1e3,
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


def memory_versus_length(args, weights: Path) -> list[dict]:
    """One fresh process per length, so each peak RSS is that length's own."""
    import json

    rows = []
    for n in args.lengths:
        cmd = [sys.executable, __file__, "--device", args.device, "--precision", args.precision, "--batch", str(args.batch),
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


@torch.inference_mode()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path)
    p.add_argument("--device", default="auto")
    p.add_argument("--frames", type=int, default=4, help="driving frames per end-to-end run")
    p.add_argument("--batch", type=int, default=4, help="our render chunk size")
    p.add_argument("--precision", default="auto", help="our precision (auto: bf16/fp16 on GPU, fp32 on CPU)")
    p.add_argument("--compile", action="store_true", help="torch.compile as the engine does (W and G on CUDA; nothing on the CPU)")
    p.add_argument("--sweep", type=lambda v: [int(x) for x in v.split(",")], default=[],
                   help="also time W+G at these batch sizes, e.g. 1,4,16")
    p.add_argument("--lengths", type=lambda v: [int(x) for x in v.split(",")], default=[],
                   help="memory-versus-length run: render this many frames to a file, each in its own process")
    p.add_argument("--plot", type=Path, help="write a PNG of ms/frame vs batch and memory vs length")
    p.add_argument("--conservative", action="store_true",
                   help="the official-style loop runs accelerated networks too (the same values)")
    p.add_argument("--length-run", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.length_run:
        import json

        print(json.dumps(length_run(args.weights or synthetic_weights(), resolve_device(args.device), args.precision,
                                    args.length_run, args.batch)))
        return

    device = resolve_device(args.device)
    baseline_dtype = torch.float16 if device.type == "cuda" else torch.float32  # the official defaults
    weights = args.weights or synthetic_weights()
    ours = LivePortraitEngine(load_networks(weights, download=False), device, args.precision, compile=args.compile)
    official = LivePortraitEngine(load_networks(weights, download=False), device, "fp32",  # + autocast below
                                  official=not args.conservative)
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256, device=device)
    frames = (image + 0.05 * torch.randn(args.frames, 3, 256, 256, device=device)).clamp(0, 1)
    options = DrivingOptions()
    source = ours.source(image)
    name = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; ours {str(ours.dtype)[6:]} batch {args.batch}"
          f"{' compiled' if args.compile else ''}; "
          f"official-style {str(baseline_dtype)[6:]} batch 1, "
          f"{'accelerated' if args.conservative else 'official networks'}\n")

    nets, onets = ours.networks, official.networks
    b = args.batch
    feat_b = source.feature.expand(b, -1, -1, -1, -1)
    kp_s, kp_s_b = source.x_s, source.x_s.expand(b, -1, -1)
    kp_d = kp_s + 0.02 * torch.randn(kp_s.shape, generator=torch.Generator().manual_seed(1)).to(device)  # a moved face
    kp_d_b = kp_d.expand(b, -1, -1)
    wout = onets.warping(source.feature, kp_d, kp_s)["out"]
    rows = []
    for label, one_frame, batched in [  # batched rows run ours: W and G as the engine runs them (compiled or not)
        ("F appearance", lambda n: n.appearance(image), None),
        ("M motion", lambda n: n.motion(frames[:1]), lambda n: n.motion(frames[:1].expand(b, -1, -1, -1))),
        ("W warping", lambda n: n.warping(source.feature, kp_d, kp_s), lambda n: ours.warping(feat_b, kp_d_b, kp_s_b)),
        ("G generator", lambda n: n.generator(wout), lambda n: ours.generator(wout.expand(b, -1, -1, -1))),
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

    sweep = []
    for size in args.sweep:
        f = source.feature.expand(size, -1, -1, -1, -1)
        k = source.x_s.expand(size, -1, -1)
        ms = timed(lambda: ours.generator(ours.warping(f, k, k)["out"]), device) / size * 1e3
        sweep.append((size, ms))
        print(f"W+G batch {size:>3}: {ms:8.1f} ms/frame")
    lengths = memory_versus_length(args, weights) if args.lengths else []
    if args.plot:
        plot(sweep, lengths, args.plot, f"{name}, ours {str(ours.dtype)[6:]}")


if __name__ == "__main__":
    main()
