"""Command line on the core: ``python -m liveportrait_core animate|convert ...``."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Iterator, Sequence

import torch

from .checkpoints import convert_main
from .driving import DRIVING_OPTIONS, REGIONS, DrivingOptions
from .engine import LivePortraitEngine, SourceState
from .media import VideoWriter, iter_video_frames, media_kind, probe_video, read_image, write_png_frames
from .motion_sequence import MotionSequence
from .precision import DEVICES, PRECISIONS
from .prepare import resize_to_input, to_tensor
from .render import to_uint8
from .template import load_template, save_template

DEFAULT_WEIGHTS = Path(os.environ.get("LIVEPORTRAIT_WEIGHTS", "models/liveportrait"))
IMAGE_FPS = 25.0  # official output fps when nothing else sets it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m liveportrait_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("animate", help="animate a portrait from a driving video, image or motion template")
    a.add_argument("--source", required=True, type=Path, help="source portrait image")
    a.add_argument("--driving", required=True, type=Path, help="driving video (any file PyAV decodes), image, or motion template (.pkl/.safetensors)")
    a.add_argument("--out", required=True, type=Path, help="OUT.mp4 writes a video (driving fps and audio); any other path is a folder of PNG frames")
    a.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="folder with the five checkpoints, flat or in the hub layout (default: %(default)s or $LIVEPORTRAIT_WEIGHTS)")
    a.add_argument("--variant", choices=("human", "animals"), default="human")
    a.add_argument("--no-download", action="store_true", help="never fetch missing weights from the hub")
    a.add_argument("--no-crop", action="store_true", help="take the inputs as they are, resized to 256x256 (official --no_flag_do_crop)")
    a.add_argument("--device", choices=DEVICES, default="auto")
    a.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: bf16/fp16 on GPU, fp32 on CPU")
    a.add_argument("--compile", action="store_true", help="torch.compile the warping and generator networks")
    a.add_argument("--chunk-size", type=int, default=4, help="frames rendered per batch (memory grows with it)")
    a.add_argument("--absolute", action="store_true", help="absolute instead of relative motion")
    a.add_argument("--driving-option", choices=DRIVING_OPTIONS, default="expression-friendly")
    a.add_argument("--driving-multiplier", type=float, default=1.0)
    a.add_argument("--animation-region", choices=REGIONS, default="all")
    a.add_argument("--no-stitching", action="store_true")
    a.add_argument("--eye-retargeting", action="store_true")
    a.add_argument("--lip-retargeting", action="store_true")
    a.add_argument("--normalize-lip", action="store_true")
    a.add_argument("--save-template", type=Path, help="also save the driving motion (.safetensors ours, .pkl official layout)")
    c = sub.add_parser("convert", help="convert checkpoints to .safetensors", add_help=False)
    c.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def driving_options(args: argparse.Namespace) -> DrivingOptions:
    return DrivingOptions(relative=not args.absolute, driving_option=args.driving_option, multiplier=args.driving_multiplier,
                          region=args.animation_region, stitching=not args.no_stitching, eye_retargeting=args.eye_retargeting,
                          lip_retargeting=args.lip_retargeting, normalize_lip=args.normalize_lip)


def network_input(frames, device: torch.device) -> torch.Tensor:
    """uint8 (n, H, W, 3) -> (n, 3, 256, 256) float on ``device``."""
    return resize_to_input(to_tensor(frames, device))


def load_source(engine: LivePortraitEngine, path: Path) -> SourceState:
    if media_kind(path) != "image":
        raise SystemExit(f"error: --source {path} is not a still image (source videos are not supported by 'animate' yet)")
    return engine.source(network_input(read_image(path), engine.device))


def load_driving(engine: LivePortraitEngine, path: Path) -> tuple[MotionSequence, bool]:
    """Driving motion and whether it came from a single image."""
    kind = media_kind(path)
    if kind == "template":
        return load_template(path), False
    if kind == "image":
        return engine.motion([network_input(read_image(path), engine.device)], IMAGE_FPS), True
    info = probe_video(path)
    chunks = (network_input(c, engine.device) for c in iter_video_frames(path, chunk=16))
    return engine.motion(chunks, info.fps), False


def write_frames(out: Path, frames: Iterator[torch.Tensor], fps: float, audio_from: Path | None) -> int:
    """Stream uint8 frames into ``out`` (.mp4 video, else a PNG folder); returns the frame count."""
    count = 0
    if out.suffix.lower() == ".mp4":
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, fps, audio_from=audio_from) as writer:
            for chunk in frames:
                writer.write(to_uint8(chunk).numpy())
                count += chunk.shape[0]
    else:
        for chunk in frames:
            write_png_frames(out, to_uint8(chunk).numpy(), start_index=count)
            count += chunk.shape[0]
    return count


def animate(args: argparse.Namespace) -> int:
    if not args.no_crop:
        raise SystemExit("error: face cropping is not available yet; pass --no-crop to animate pre-cropped inputs")
    options = driving_options(args)
    started = time.perf_counter()
    engine = LivePortraitEngine.from_folder(args.weights, args.variant, args.device, args.precision,
                                            download=not args.no_download, compile=args.compile)
    source = load_source(engine, args.source)
    motion, from_image = load_driving(engine, args.driving)
    if args.save_template:
        save_template(motion.to("cpu"), args.save_template, source=str(args.source), driving=str(args.driving))
    kp = engine.driving_keypoints(source, motion, options, driving_is_image=from_image)

    def progress(done: int, total: int) -> None:
        print(f"\rrendered {done}/{total} frames", end="", file=sys.stderr, flush=True)

    audio = args.driving if media_kind(args.driving) == "video" else None
    count = write_frames(args.out, engine.render(source, kp, args.chunk_size, progress), motion.fps, audio)
    print(f"\nwrote {count} frames to {args.out} in {time.perf_counter() - started:.1f} s "
          f"({engine.device.type}, {str(engine.dtype).removeprefix('torch.')})", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["convert"]:
        return convert_main(argv[1:])
    args = build_parser().parse_args(argv)
    return animate(args)
