"""Command line on the core: ``python -m liveportrait_core animate|crop|convert ...``."""
from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch

from .checkpoints import CheckpointError, convert_main
from .crop_cli import LazyDetector, add_crop_arguments, add_detector_arguments, crop_main, source_crop_params
from .driving import DRIVING_OPTIONS, REGIONS, DrivingOptions
from .engine import LivePortraitEngine, SourceState
from .faces import (DRIVING_CROP, CropParams, CropTrack, FaceModelsNotFoundError, NoFaceError, choose_faces, cut_crops,
                    eye_open_ratio, is_prepared_crop, lip_open_ratio, network_input, paste_back, paste_mask,
                    track_driving_frames, track_source_image, warp_mask)
from .faces.crop import MISSING_FACE
from .faces.driving_crop import DRIVING_MODES
from .faces.images import frames_tensor
from .faces.pasteback import DEFAULT_FEATHER
from .faces.smoothing import fill_gaps
from .media import MediaError, VideoWriter, iter_video_frames, media_kind, probe_video, read_image, write_png_frames
from .motion_sequence import MotionSequence
from .precision import DEVICES, PRECISIONS
from .render import to_uint8
from .model_files import WeightsNotFoundError
from .template import TemplateError, load_template, save_template

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
    a.add_argument("--no-crop", action="store_true",
                   help="take the inputs as they are, resized to 256x256, and output the 512x512 renders (official --no_flag_do_crop)")
    a.add_argument("--device", choices=DEVICES, default="auto")
    a.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: bf16/fp16 on GPU, fp32 on CPU")
    a.add_argument("--compile", action="store_true", help="torch.compile the generator (inductor; ~30 s once, then 2-6x faster in bf16)")
    a.add_argument("--chunk-size", type=int, default=None, help="frames rendered per batch (default: what fits in half the free memory; at most 4 on CPU, 32 on GPU)")
    a.add_argument("--absolute", action="store_true", help="absolute instead of relative motion")
    a.add_argument("--driving-option", choices=DRIVING_OPTIONS, default="expression-friendly")
    a.add_argument("--driving-multiplier", type=float, default=1.0)
    a.add_argument("--animation-region", choices=REGIONS, default="all")
    a.add_argument("--no-stitching", action="store_true")
    a.add_argument("--eye-retargeting", action="store_true")
    a.add_argument("--lip-retargeting", action="store_true")
    a.add_argument("--normalize-lip", action="store_true")
    a.add_argument("--save-template", type=Path, help="also save the driving motion (.safetensors ours, .pkl official layout)")
    add_detector_arguments(a)
    add_crop_arguments(a)
    g = a.add_argument_group("driving crop and paste-back")
    g.add_argument("--driving-crop", choices=("auto", "on", "off"), default="auto",
                   help="auto (default): crop driving frames unless they are square and at most 512 px (already face crops)")
    g.add_argument("--driving-crop-mode", choices=DRIVING_MODES, default="average",
                   help="average: one box for the whole clip (official); smooth: follow the face with a smoothed box")
    g.add_argument("--driving-crop-scale", type=float, default=DRIVING_CROP.scale, help="default %(default)s")
    g.add_argument("--driving-crop-vy", type=float, default=DRIVING_CROP.vy_ratio, help="default %(default)s")
    g.add_argument("--on-missing-face", choices=MISSING_FACE, default="fail",
                   help="a driving frame without a face: fail (default, naming the frame) or skip it (cropped like its neighbours)")
    g.add_argument("--no-paste-back", action="store_true", help="output the 512x512 face crops instead of full frames")
    g.add_argument("--feather", type=float, default=DEFAULT_FEATHER,
                   help="width in crop pixels of the paste-back mask's soft edge (default %(default)s, official; 0 = hard edge)")
    k = sub.add_parser("crop", help="detect and crop the face(s) of an image; writes crop.png, landmarks.png, crop.json")
    k.add_argument("--source", required=True, type=Path, help="portrait image")
    k.add_argument("--out", required=True, type=Path, help="output folder")
    k.add_argument("--all-faces", action="store_true", help="crop every face (crop.png, crop_1.png, ...; largest first)")
    k.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS, help="default folder of the detector files (default: %(default)s)")
    k.add_argument("--no-download", action="store_true", help="never fetch missing detector files")
    k.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="onnxruntime provider for insightface")
    add_detector_arguments(k)
    add_crop_arguments(k)
    c = sub.add_parser("convert", help="convert checkpoints to .safetensors", add_help=False)
    c.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def driving_options(args: argparse.Namespace) -> DrivingOptions:
    return DrivingOptions(relative=not args.absolute, driving_option=args.driving_option, multiplier=args.driving_multiplier,
                          region=args.animation_region, stitching=not args.no_stitching, eye_retargeting=args.eye_retargeting,
                          lip_retargeting=args.lip_retargeting, normalize_lip=args.normalize_lip)


def needs_ratios(args: argparse.Namespace) -> bool:
    """Whether the options use eye / lip open ratios (retargeting, lip normalisation)."""
    return args.eye_retargeting or args.lip_retargeting or args.normalize_lip


def landmark_ratios(detector: LazyDetector, rgb: np.ndarray, face, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, 2) eye and (1, 1) lip open ratios of the chosen face of an uncropped image."""
    landmarks = choose_faces(detector.detect(rgb)[0], face, where).landmarks
    return eye_open_ratio(landmarks), lip_open_ratio(landmarks)


def load_source(engine: LivePortraitEngine, args: argparse.Namespace,
                detector: LazyDetector) -> tuple[SourceState, CropTrack | None, np.ndarray]:
    """The source state, its crop transform (None with --no-crop) and the source pixels."""
    path = args.source
    if media_kind(path) != "image":
        raise SystemExit(f"error: --source {path} is not a still image (source videos are not supported by 'animate' yet)")
    rgb = read_image(path)
    if args.no_crop:
        eye, lip = landmark_ratios(detector, rgb, args.face, str(path)) if needs_ratios(args) else (None, None)
        return engine.source(network_input(frames_tensor(rgb)), eye, lip), None, rgb
    track = track_source_image(detector.detect(rgb)[0], source_crop_params(args), args.face, f"the source image {path}")
    inputs = network_input(cut_crops(rgb, track))
    return engine.source(inputs, track.eye_ratio.to(engine.device), track.lip_ratio.to(engine.device)), track, rgb


def load_driving(engine: LivePortraitEngine, args: argparse.Namespace, detector: LazyDetector) -> tuple[MotionSequence, bool]:
    """Driving motion and whether it came from a single image; raw driving frames are auto-cropped (see --driving-crop)."""
    path = args.driving
    kind = media_kind(path)
    if kind == "template":
        return load_template(path), False
    if kind == "image":
        image = read_image(path)[None]
        fps, (height, width) = IMAGE_FPS, image.shape[1:3]

        def chunks() -> Iterator[np.ndarray]:
            yield image
    else:
        info = probe_video(path)
        fps, width, height = info.fps, info.width, info.height

        def chunks() -> Iterator[np.ndarray]:
            return iter_video_frames(path, chunk=16)
    crop = not args.no_crop and (args.driving_crop == "on" or (args.driving_crop == "auto" and not is_prepared_crop(width, height)))
    track = None
    if crop or needs_ratios(args):
        params = CropParams(scale=args.driving_crop_scale, vy_ratio=args.driving_crop_vy, rotate=False)
        detections = [d for c in chunks() for d in detector.detect(c)]
        track = track_driving_frames(detections, params, args.driving_crop_mode, on_missing=args.on_missing_face)

    def inputs() -> Iterator[torch.Tensor]:
        start = 0
        for c in chunks():
            frames = frames_tensor(c).to(engine.device)
            if crop:
                frames = cut_crops(frames, track.select(slice(start, start + len(c))))
            start += len(c)
            yield network_input(frames).to(engine.device)

    motion = engine.motion(inputs(), fps)
    if track is not None:
        motion.eye_ratio = fill_gaps(track.eye_ratio, track.found).float().to(engine.device)
        motion.lip_ratio = fill_gaps(track.lip_ratio, track.found).float().to(engine.device)
    return motion, kind == "image"


def write_frames(out: Path, frames: Iterator[torch.Tensor], fps: float, audio_from: Path | None) -> int:
    """Stream uint8 (n, H, W, 3) frames into ``out`` (.mp4 video, else a PNG folder); returns the frame count."""
    count = 0
    if out.suffix.lower() == ".mp4":
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, fps, audio_from=audio_from) as writer:
            for chunk in frames:
                writer.write(chunk.cpu().numpy())
                count += chunk.shape[0]
    else:
        for chunk in frames:
            write_png_frames(out, chunk.cpu().numpy(), start_index=count)
            count += chunk.shape[0]
    return count


def output_frames(renders: Iterator[torch.Tensor], track: CropTrack | None, source_rgb: np.ndarray,
                  feather: float) -> Iterator[torch.Tensor]:
    """uint8 (n, H, W, 3) output frames: the renders pasted back into the source image, or the renders themselves."""
    if track is None:
        yield from (to_uint8(chunk) for chunk in renders)
        return
    crop_to_original = track.crop_to_original
    mask = warp_mask(paste_mask(track.dsize, feather), crop_to_original, source_rgb.shape[:2])
    for chunk in renders:
        yield paste_back(chunk, crop_to_original, source_rgb, mask)


def animate(args: argparse.Namespace) -> int:
    options = driving_options(args)
    started = time.perf_counter()
    engine = LivePortraitEngine.from_folder(args.weights, args.variant, args.device, args.precision,
                                            download=not args.no_download, compile=args.compile)
    with closing(LazyDetector(args, args.weights)) as detector:
        try:
            source, track, source_rgb = load_source(engine, args, detector)
            motion, from_image = load_driving(engine, args, detector)
        except NoFaceError as err:
            raise SystemExit(f"error: {err} (detector {args.detector}; --no-crop animates inputs as they are)") from None
    if args.save_template:
        save_template(motion.to("cpu"), args.save_template, source=str(args.source), driving=str(args.driving))
    kp = engine.driving_keypoints(source, motion, options, driving_is_image=from_image)

    def progress(done: int, total: int) -> None:
        print(f"\rrendered {done}/{total} frames", end="", file=sys.stderr, flush=True)

    audio = args.driving if media_kind(args.driving) == "video" else None
    renders = engine.render(source, kp, args.chunk_size, progress)
    frames = output_frames(renders, None if args.no_paste_back else track, source_rgb, args.feather)
    count = write_frames(args.out, frames, motion.fps, audio)
    print(f"\nwrote {count} frames to {args.out} in {time.perf_counter() - started:.1f} s "
          f"({engine.device.type}, {str(engine.dtype).removeprefix('torch.')})", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["convert"]:
        return convert_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "crop":
            return crop_main(args, args.weights)
        return animate(args)
    except (WeightsNotFoundError, FaceModelsNotFoundError, CheckpointError, TemplateError, MediaError, ImportError) as err:
        # user-fixable problems (missing or wrong files, unreadable inputs, missing packages): the message says what to do
        raise SystemExit(f"error: {err}") from None
