#!/usr/bin/env python
"""Live latency and throughput: ``s9.jpg`` (720x1280, pasted back) driven frame by frame by a clip standing in for a
camera, through the live session and player of ``liveportrait_core.live``, with per-stage figures.

Two runs after a warm-up (first frames, CUDA graph capture, compiling; excluded), each stage timed on its own (CUDA
events on a GPU):

* ``every_frame``: every frame as fast as possible: the sustained frames per second;
* ``realtime``: the clip played at its frame rate, the renderer taking the newest frame (the drop rate, the
  latency from a frame's arrival to its result).

    .venv/bin/python scripts/live_latency.py --device cpu --precision bf16 --frames 8
    .venv/bin/python scripts/live_latency.py --device cuda --face-box 270,229,200,225 --json live.json
    .venv/bin/python scripts/live_latency.py --comfyui --prompts 5   # server-side seconds per prompt of live_webcam

``--driving`` defaults to ``d20.mp4`` (480x480 face crops: no detection per frame); give ``s18.mp4`` (1280x720) to
include finding and following the face. Without ``--face-box`` the source face is found by MediaPipe. Without
``--weights`` the synthetic weights (the real architecture and cost) are used, as in ``scripts/end_to_end.py``.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "scripts"), str(REPO)]

from end_to_end import ASSETS, CACHE, synthetic_weights  # noqa: E402
from liveportrait_core.cli.animate import face_box  # noqa: E402
from liveportrait_core.faces import create_detector, is_prepared_crop  # noqa: E402
from liveportrait_core.faces.box_crop import track_face_box  # noqa: E402
from liveportrait_core.live import LiveOptions, LiveSession, prepare_source  # noqa: E402
from liveportrait_core.live.player import ClipInput, LiveReport, play  # noqa: E402
from liveportrait_core.media import iter_video_frames, probe_video, read_image  # noqa: E402
from liveportrait_core.pipeline.engine import LivePortraitEngine  # noqa: E402


def report_json(report: LiveReport) -> dict:
    return {"frames_in": report.frames_in, "frames_out": report.frames_out, "dropped": report.dropped,
            "missing": report.missing, "fps": report.fps, "wall_s": report.wall,
            "p50_p99_ms": report.percentiles()}


def session_runs(args: argparse.Namespace) -> dict:
    """The two runs of the module docstring, each with a fresh session on one engine."""
    engine = LivePortraitEngine.from_folder(args.weights or synthetic_weights(), device=args.device,
                                            precision=args.precision, download=False, compile=args.compile)
    picture = read_image(ASSETS / "source" / "s9.jpg")
    needs_detector = args.face_box is None or not _is_crop_clip(args.driving)
    detector = create_detector("mediapipe", args.detector_models) if needs_detector else None
    track = None if args.face_box is None else track_face_box(args.face_box, picture.shape[:2])
    source = prepare_source(engine, picture, detector, track=track)
    options = LiveOptions(cuda_graphs=not args.no_graphs, fps=ClipInput(args.driving).fps)
    warm = next(iter_video_frames(args.driving, chunk=args.warm_up))
    results = {"machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads",
               "device": str(engine.device), "dtype": str(engine.dtype), "compiled": engine.compiled,
               "cuda_graphs": options.cuda_graphs and engine.device.type == "cuda", "driving": args.driving.name}
    runs = {"every_frame": (False, args.frames), "realtime": (True, args.realtime_frames or args.frames)}
    for name, (realtime, frames) in runs.items():
        with LiveSession(engine, source, detector, options) as session:
            start = time.perf_counter()
            for frame in warm:
                session.process(frame)
            results.setdefault("warm_up_s", time.perf_counter() - start)
            report = play(session, ClipInput(args.driving, realtime=realtime, limit=frames))
        results[name] = report_json(report)
        print(f"\n[{name}]\n{report.table()}")
    if engine.device.type == "cuda":
        results["peak_vram_gib"] = torch.cuda.max_memory_allocated(engine.device) / 2**30
    if detector is not None:
        detector.close()
    return results


def _is_crop_clip(path: Path) -> bool:
    info = probe_video(path)
    return is_prepared_crop(info.width, info.height)


def comfyui_prompts(args: argparse.Namespace) -> dict:
    """Server-side seconds per prompt of the shipped live_webcam API twin on the test host (execution start to
    success, as the server reports them), one driving frame of the clip per prompt."""
    from tests.support.comfy_server import ComfyServer

    prompt = json.loads((REPO / "workflows" / "api" / "live_webcam.json").read_text())
    camera = next(k for k, v in prompt.items() if v["class_type"] == "WebcamCapture")
    frames = next(iter_video_frames(args.driving, chunk=args.prompts))
    weights = Path(tempfile.mkdtemp())
    for f in (args.weights or synthetic_weights()).iterdir():
        (weights / f.name).symlink_to(f.resolve())
    (weights / "mediapipe").mkdir(exist_ok=True)
    shutil.copy(Path(args.detector_models) / "mediapipe" / "face_landmarker.task", weights / "mediapipe")
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        server = ComfyServer.start(Path(tmp) / "base", weights)
        try:
            shutil.copy(ASSETS / "source" / "s9.jpg", server.base / "input" / "portrait.jpg")
            from PIL import Image

            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(server.base / "input" / f"webcam_{i}.png")
                prompt[camera]["inputs"]["image"] = f"webcam_{i}.png"
                run = server.run(prompt)
                if run.status != "success":
                    raise SystemExit(f"prompt {i} failed: {run.messages[-1]}")
                times = {m["type"]: m["data"]["timestamp"] for m in run.messages
                         if m["type"] in ("execution_start", "execution_success")}
                seconds.append((times["execution_success"] - times["execution_start"]) / 1000)
                print(f"prompt {i}: {seconds[-1]:.3f} s on the server")
        finally:
            server.stop()
    shutil.rmtree(weights)
    later = seconds[1:] or seconds
    print(f"first prompt (loads the models, prepares the portrait) {seconds[0]:.2f} s; "
          f"then p50 {np.percentile(later, 50):.3f} s per prompt")
    return {"comfyui_prompt_s": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="the five checkpoints (default: the synthetic ones)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile W and G (CUDA)")
    parser.add_argument("--no-graphs", action="store_true", help="render without the one-frame CUDA graph")
    parser.add_argument("--driving", type=Path, default=ASSETS / "driving" / "d20.mp4")
    parser.add_argument("--frames", type=int, default=100, help="driving frames per run (default %(default)s)")
    parser.add_argument("--realtime-frames", type=int,
                        help="clip frames played in the real-time run (default: --frames); most are dropped on a CPU")
    parser.add_argument("--warm-up", type=int, default=3, help="frames rendered first and not counted")
    parser.add_argument("--face-box", type=face_box, metavar="X,Y,W,H", help="the source face's box instead of MediaPipe")
    parser.add_argument("--detector-models", type=Path, default=CACHE / "models",
                        help="folder with mediapipe/face_landmarker.task (default: the tests' cache)")
    parser.add_argument("--comfyui", action="store_true",
                        help="time the live_webcam workflow's prompts on the ComfyUI test host instead")
    parser.add_argument("--prompts", type=int, default=5, help="--comfyui: prompts queued, one frame each")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    results = comfyui_prompts(args) if args.comfyui else session_runs(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
