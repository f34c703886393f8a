#!/usr/bin/env python
"""End to end: the README's default case (``s9.jpg`` 720x1280 driven by ``d20.mp4``, paste-back on) through the
command line's code path in this process, with per-stage figures, against the render alone.

A warm-up run of one chunk comes first (model caches, compiling; excluded). The measured run is then the ``animate``
command as a user runs it, with ``--timings``; the render alone is W and G on the same keypoints with the same chunk
size, and the ratio end to end / render alone says how much of the render speed the whole run keeps.

    .venv/bin/python scripts/end_to_end.py --device cpu --max-frames 8
    .venv/bin/python scripts/end_to_end.py --device cuda --compile --repeat-driving 10 --face-box X,Y,W,H --json e2e.json

Without ``--face-box`` the source face is found by MediaPipe (as the README's command does) and its box is printed,
to pass on a machine without MediaPipe. Without ``--weights`` the synthetic weights of ``../shared/conformance`` are
used (generated once; the real networks' architecture and cost). Assets: ``$LIVEPORTRAIT_SHARED/assets``, default
``<repo>/../shared/assets``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.cli.animate import AnimateOptions, PlannedAnimation, animate_frames, face_box  # noqa: E402
from liveportrait_core.cli.crop import LazyDetector  # noqa: E402
from liveportrait_core.cli.main import build_parser  # noqa: E402
from liveportrait_core.media import read_image  # noqa: E402
from liveportrait_core.pipeline.engine import LivePortraitEngine, SourceState  # noqa: E402
from liveportrait_core.pipeline.render import auto_chunk_size  # noqa: E402
from liveportrait_core.pipeline.source_motion import face_inputs  # noqa: E402
from liveportrait_core.profiling import StageTimer  # noqa: E402

SHARED = Path(os.environ.get("LIVEPORTRAIT_SHARED", REPO.parent / "shared"))
ASSETS = SHARED / "assets"
CACHE = Path.home() / ".cache" / "liveportrait-kit-tests"


def synthetic_weights() -> Path:
    """The synthetic checkpoints (generated once by ``shared/conformance/make_weights.py``)."""
    out = CACHE / "weights"
    if not (out / "spade_generator.pth").exists():
        subprocess.run([sys.executable, str(SHARED / "conformance" / "make_weights.py"), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return out


def repeat_clip(source: Path, out: Path, times: int) -> Path:
    """``source`` played ``times`` times in a row (its video and first audio stream copied, not re-encoded)."""
    with av.open(str(source)) as inp, av.open(str(out), "w") as dst:
        streams = [inp.streams.video[0], *inp.streams.audio[:1]]
        copies = {s.index: dst.add_stream_from_template(s) for s in streams}
        packets = [p for p in inp.demux(*streams) if p.dts is not None]
        stamps = [(p.pts, p.dts) for p in packets]
        span = {s.index: max(p.pts + p.duration for p in packets if p.stream.index == s.index)
                - min(p.pts for p in packets if p.stream.index == s.index) for s in streams}
        for k in range(times):
            for packet, (pts, dts) in zip(packets, stamps):
                index = packet.stream.index
                packet.pts, packet.dts = pts + k * span[index], dts + k * span[index]
                packet.stream = copies[index]
                dst.mux(packet)
                packet.stream = inp.streams[index]
    return out


def detected_box(options: AnimateOptions) -> tuple[float, float, float, float] | None:
    """The source's largest face box ``(x, y, w, h)`` found by the CLI's detector, None without MediaPipe."""
    try:
        import mediapipe  # noqa: F401
    except ImportError:
        return None
    detector = LazyDetector(options.detector)
    try:
        faces = detector.detect([read_image(options.source)])[0]
    finally:
        detector.close()
    if len(faces.boxes) == 0:
        return None
    left, top, right, bottom = faces.boxes[0].tolist()
    return left, top, right - left, bottom - top


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def render_only(engine: LivePortraitEngine, planned: PlannedAnimation, chunk_size: int) -> float:
    """Seconds for W and G alone on the measured run's keypoints, ``chunk_size`` frames at a time."""
    animation = planned.animation
    face = animation.faces[0]
    index = animation.source_index[:1]
    feature = engine.appearance(face_inputs(animation.frames.read(index), face.track.select(index)))
    state = SourceState(feature=feature, motion=face.motion.select(index))
    synchronize(engine.device)
    start = time.perf_counter()
    for _ in engine.render(state, face.keypoints, chunk_size):
        pass
    synchronize(engine.device)
    return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--weights", type=Path, help="folder of the five checkpoints (default: the synthetic ones)")
    p.add_argument("--detector-models", type=Path, help="folder of the MediaPipe model (default: the weights folder)")
    p.add_argument("--repeat-driving", type=int, default=1, metavar="K", help="play d20.mp4 K times in a row")
    p.add_argument("--face-box", type=face_box, metavar="X,Y,W,H", help="the source face's box (no detector needed)")
    p.add_argument("--chunk-size", type=int, help="frames per render batch (default: the CLI's, for the device)")
    p.add_argument("--max-frames", type=int, help="animate only the first N frames (short runs on the CPU)")
    p.add_argument("--out", type=Path, help="the video written (default: a temporary file)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="end_to_end-"))
    driving = ASSETS / "driving" / "d20.mp4"
    if args.repeat_driving > 1:
        driving = repeat_clip(driving, work / f"d20x{args.repeat_driving}.mp4", args.repeat_driving)
    argv = ["animate", "--source", str(ASSETS / "source" / "s9.jpg"), "--driving", str(driving),
            "--out", str(args.out or work / "out.mp4"), "--weights", str(args.weights or synthetic_weights()),
            "--no-download", "--device", args.device, "--precision", args.precision, "--timings"]
    argv += ["--compile"] * args.compile + ["--detector-models", str(args.detector_models)] * bool(args.detector_models)
    if args.face_box:
        argv += ["--face-box", ",".join(f"{v:g}" for v in args.face_box)]
    if args.max_frames:
        argv += ["--max-frames", str(args.max_frames)]
    options = AnimateOptions.from_args(build_parser().parse_args(argv))
    if not args.face_box:
        box = detected_box(options)
        print("face box: " + ("MediaPipe is not installed: give --face-box X,Y,W,H" if box is None else
                              f"--face-box {','.join(f'{v:.0f}' for v in box)} (MediaPipe's, for a machine without it)"))

    timer = StageTimer()
    with timer.stage("model load"):
        engine = options.engine.load(options.variant, options.compile)
    chunk_size = args.chunk_size or auto_chunk_size(engine.device, engine.dtype)
    options = replace(options, chunk_size=chunk_size)
    warm = StageTimer()
    animate_frames(replace(options, max_frames=chunk_size, out=work / "warm-up.mp4"), engine, warm)
    timer.add("compile/warm-up", warm.wall + warm.seconds().get("compile/warm-up", 0.0))

    planned = animate_frames(options, engine, timer)
    alone = render_only(engine, planned, chunk_size)
    frames, wall = timer.frames, timer.wall
    end_to_end_fps, render_fps = frames / wall, frames / alone
    print(f"\n{engine.device.type} {str(engine.dtype).removeprefix('torch.')}, compile {engine.compiled}, chunk {chunk_size}, "
          f"{frames} frames of 720x1280 (d20 x{args.repeat_driving}), {platform.processor() or platform.machine()}")
    print(timer.table())
    print(f"render alone (W+G, same keypoints and chunk): {alone:.3f} s, {render_fps:.2f} frames/s")
    print(f"end to end / render alone: {end_to_end_fps / render_fps:.1%}")
    if args.json:
        args.json.write_text(json.dumps({
            "device": engine.device.type, "dtype": str(engine.dtype).removeprefix("torch."), "compiled": engine.compiled,
            "chunk_size": chunk_size, "frames": frames, "repeat_driving": args.repeat_driving,
            "face_box": args.face_box, "stages_s": timer.seconds(), "wall_s": wall, "end_to_end_fps": end_to_end_fps,
            "render_only_s": alone, "render_only_fps": render_fps, "ratio": end_to_end_fps / render_fps,
            "gpu": torch.cuda.get_device_name(engine.device) if engine.device.type == "cuda" else None,
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
