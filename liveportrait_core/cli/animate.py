"""``python -m liveportrait_core animate``: animate the face(s) of a portrait or a source video; the slider options
(``--smile 0.8`` …) edit a source video's expression, with or without a driving input."""
from __future__ import annotations

import argparse
import sys
import time
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

from ..editing.sliders import ExpressionSliders
from ..faces import DRIVING_CROP, CropParams, CropTrack, NoFaceError
from ..faces.box_crop import track_center, track_face_box
from ..faces.crop import MISSING_FACE
from ..faces.detector import FaceChoice
from ..faces.driving_crop import DRIVING_MODES
from ..faces.face_tracks import face_tracks
from ..faces.pasteback import DEFAULT_FEATHER
from ..media import write_frames
from ..motion.animals import check_animal_options
from ..motion.driving import DRIVING_OPTIONS, REGIONS, DrivingOptions
from ..motion.frame_policy import POLICIES
from ..motion.templates import save_template
from ..pipeline.animation import Animation, detect_frames, frame_ranges, plan_animation
from ..pipeline.compositing import CompositeChunk
from ..pipeline.driving_files import DrivingCrop, load_driving, media_kind
from ..pipeline.engine import LivePortraitEngine
from ..pipeline.face_keypoints import FaceDriving
from ..pipeline.render import ProgressHook
from ..pipeline.source_frames import SourceFrames
from ..pipeline.video_to_video import SourceVideoOptions
from ..profiling import StageTimer
from .common import EngineOptions, add_engine_arguments, print_progress
from .crop import DetectorOptions, LazyDetector, add_crop_arguments, add_detector_arguments, source_crop_params
from .edit import add_slider_arguments, sliders_from_args


def face_driving_pair(text: str) -> tuple[int, Path]:
    """argparse type of ``--face-driving INDEX=PATH``."""
    index, sep, path = text.partition("=")
    if not sep or not index.strip().isdigit() or not path:
        raise argparse.ArgumentTypeError(f"expected INDEX=PATH (e.g. 1=driving.mp4), got {text!r}")
    return int(index), Path(path)


def face_box(text: str) -> tuple[float, float, float, float]:
    """argparse type of ``--face-box X,Y,W,H``."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,W,H in pixels (e.g. 120,80,200,220), got {text!r}") from None
    return x, y, w, h


def add_motion_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """The options of :func:`driving_options` (official names and defaults), as their own group, returned."""
    m = parser.add_argument_group("motion (official options and defaults)")
    m.add_argument("--absolute", action="store_true", help="absolute instead of relative motion")
    m.add_argument("--driving-option", choices=DRIVING_OPTIONS, default="expression-friendly")
    m.add_argument("--driving-multiplier", type=float, default=1.0, help="motion strength (official README for animals: 1.75)")
    m.add_argument("--animation-region", choices=REGIONS, default="all")
    m.add_argument("--stitching", action=argparse.BooleanOptionalAction, default=None,
                   help="the stitching MLP (default: on for humans, off for animals as the official animal README advises)")
    m.add_argument("--eye-retargeting", action="store_true")
    m.add_argument("--lip-retargeting", action="store_true")
    m.add_argument("--normalize-lip", action="store_true")
    return m


def add_animate_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument("--source", required=True, type=Path,
                   help="source portrait image, or a source video (video-to-video: each frame keeps its own pose; "
                        "the output has the source's fps and sound)")
    a.add_argument("--driving", type=Path,
                   help="driving video (any file PyAV decodes), image, or motion template (.pkl/.safetensors); "
                        "drives every animated face that has no --face-driving; optional for a source video edited "
                        "with the slider options")
    a.add_argument("--out", required=True, type=Path,
                   help="OUT.mp4 writes a video (fps and sound of the source video, else of the driving video); "
                        "any other path is a folder of PNG frames")
    add_engine_arguments(a)
    a.add_argument("--variant", choices=("human", "animals"), default="human",
                   help="animals: the animal checkpoints and the official animal motion (needs --face-box or --center-crop)")
    a.add_argument("--no-crop", action="store_true",
                   help="take the inputs as they are, resized to 256x256, and output the 512x512 renders (official --no_flag_do_crop)")
    a.add_argument("--compile", action="store_true",
                   help="torch.compile W and G on CUDA (inductor; ~40 s once, then faster in fp16/bf16); nothing on the CPU")
    a.add_argument("--chunk-size", type=int, default=None,
                   help="frames rendered per batch (default: what fits in half the free memory; at most 4 on CPU, 32 on GPU)")
    a.add_argument("--max-frames", type=int, default=None, help="animate only the first N output frames (inputs are read only that far)")
    a.add_argument("--timings", action="store_true",
                   help="print the seconds of each stage (decode, detect, crop, motion, render, paste-back, encode), "
                        "the end-to-end frames per second, and the one-time costs apart (with --compile, one chunk is "
                        "rendered first to compile)")
    m = add_motion_arguments(a)
    m.add_argument("--save-template", type=Path, help="also save the driving motion (.safetensors ours, .pkl official layout)")
    v = a.add_argument_group("source video and frame counts")
    v.add_argument("--frame-policy", choices=POLICIES, default="shortest",
                   help="when source video and drivers differ in length: stop at the shortest (default, official) or run to "
                        "the longest, extending the shorter by looping, ping-pong or holding the last frame")
    v.add_argument("--smooth-variance", type=float, default=SourceVideoOptions.smooth_variance,
                   help="source video: Kalman smoothing of the transferred motion, larger = smoother (official 3e-7)")
    v.add_argument("--eye-hold", action="store_true",
                   help="source video: keep every frame's eye opening at the first frame's (official flag_source_video_eye_retargeting)")
    add_detector_arguments(a)
    f = a.add_argument_group("several faces, and crops without a detector")
    f.add_argument("--all-faces", action="store_true",
                   help="animate every face (numbered largest first in the first frame, followed through a video)")
    f.add_argument("--face-driving", type=face_driving_pair, action="append", default=[], metavar="INDEX=PATH",
                   help="drive face INDEX with PATH (repeatable); only these faces are animated unless --all-faces")
    box = f.add_mutually_exclusive_group()
    box.add_argument("--face-box", type=face_box, metavar="X,Y,W,H",
                     help="the face's box in pixels instead of detecting it (cropped with --crop-scale/--crop-vy about it)")
    box.add_argument("--center-crop", action="store_true", help="animate the largest centred square, without a detector")
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
    add_slider_arguments(a)  # a source video's expression, edited per frame (on top of the driving, if any)


@dataclass(frozen=True)
class AnimateOptions:
    """The ``animate`` command's options.

    faces: which faces to animate: "all", the faces given ``--face-driving``, or one (``--face``);
    face: the face whose landmarks give an uncropped source's eye/lip ratios;
    face_driving: face index -> its driving file (other faces take ``driving``).
    """

    source: Path
    driving: Path | None
    face_driving: dict[int, Path]
    out: Path
    engine: EngineOptions
    detector: DetectorOptions
    variant: str
    motion: DrivingOptions
    sliders: ExpressionSliders | None
    video: SourceVideoOptions
    faces: str | int | list[int]
    face: FaceChoice
    source_crop: CropParams | None  # None with --no-crop
    driving_crop: DrivingCrop
    face_box: tuple[float, float, float, float] | None = None
    center_crop: bool = False
    no_crop: bool = False
    paste_back: bool = True
    feather: float = DEFAULT_FEATHER
    frame_policy: str = "shortest"
    max_frames: int | None = None
    chunk_size: int | None = None
    compile: bool = False
    save_template: Path | None = None
    timings: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "AnimateOptions":
        """The options, once combinations and values that cannot work are refused (as clean errors)."""
        _check(args)
        try:
            motion = driving_options(args)
            if args.variant == "animals":
                check_animal_options(motion)
            return cls(
                source=args.source, driving=args.driving, face_driving=dict(args.face_driving), out=args.out,
                engine=EngineOptions.from_args(args), detector=DetectorOptions.from_args(args, args.weights),
                variant=args.variant, motion=motion, sliders=sliders_from_args(args),
                video=SourceVideoOptions(args.smooth_variance, args.eye_hold), faces=_faces(args), face=args.face,
                source_crop=None if args.no_crop else source_crop_params(args),
                driving_crop=DrivingCrop("off" if args.no_crop else args.driving_crop,
                                         CropParams(scale=args.driving_crop_scale, vy_ratio=args.driving_crop_vy, rotate=False),
                                         args.driving_crop_mode, args.on_missing_face),
                face_box=args.face_box, center_crop=args.center_crop, no_crop=args.no_crop, paste_back=not args.no_paste_back,
                feather=args.feather, frame_policy=args.frame_policy, max_frames=args.max_frames, chunk_size=args.chunk_size,
                compile=args.compile, save_template=args.save_template, timings=args.timings)
        except ValueError as err:
            raise SystemExit(f"error: {err}") from None


def driving_options(args: argparse.Namespace) -> DrivingOptions:
    stitching = (args.variant == "human") if args.stitching is None else args.stitching
    return DrivingOptions(relative=not args.absolute, driving_option=args.driving_option, multiplier=args.driving_multiplier,
                          region=args.animation_region, stitching=stitching, eye_retargeting=args.eye_retargeting,
                          lip_retargeting=args.lip_retargeting, normalize_lip=args.normalize_lip)


def _check(args: argparse.Namespace) -> None:
    """Option combinations that cannot work, as clean errors."""
    several = args.all_faces or args.face_driving
    no_detector = args.no_crop or args.face_box or args.center_crop
    if several and no_detector:
        raise SystemExit("error: --all-faces / --face-driving find the faces with the detector; "
                         "drop --no-crop, --face-box, --center-crop")
    if several and args.no_paste_back:
        raise SystemExit("error: --no-paste-back outputs one face's crops; animate one face (drop --all-faces / --face-driving)")
    if args.variant == "animals" and not no_detector:
        raise SystemExit("error: --variant animals needs --face-box X,Y,W,H or --center-crop (the official animal keypoint "
                         "detector, X-Pose, is not included), or --no-crop for an already-cropped face")
    sliders = sliders_from_args(args) is not None
    if args.driving is None and not args.face_driving and not sliders:
        raise SystemExit("error: give --driving (video, image or template), --face-driving INDEX=PATH per face, or "
                         "slider options (--smile V ...) to edit a source video")
    if args.save_template and args.driving is None and not args.face_driving:
        raise SystemExit("error: --save-template saves the driving motion; give --driving")
    if args.max_frames is not None and args.max_frames < 1:
        raise SystemExit(f"error: --max-frames must be at least 1, got {args.max_frames}")


def _faces(args: argparse.Namespace) -> str | int | list[int]:
    """Which faces the options ask for."""
    if args.all_faces:
        return "all"
    if args.face_driving:
        return sorted({k for k, _ in args.face_driving})
    return args.face


def source_tracks(options: AnimateOptions, frames: SourceFrames,
                  detector: LazyDetector) -> tuple[list[CropTrack | None], list[int]]:
    """The crop track of every face to animate and its face index (None tracks: --no-crop)."""
    if options.no_crop:
        return [None], [0]
    params = options.source_crop
    if options.face_box:
        return [track_face_box(options.face_box, frames.size, params, frames.count)], [0]
    if options.center_crop:
        return [track_center(frames.size, params.dsize, frames.count)], [0]
    faces = options.faces
    tracks = face_tracks(detect_frames(detector, frames), faces, params, where=f"the source {options.source}")
    if faces == "all":
        return tracks, list(range(len(tracks)))
    return tracks, faces if isinstance(faces, list) else [faces if isinstance(faces, int) else 0]


def _ratio_landmarks(options: AnimateOptions, frames: SourceFrames, detector: LazyDetector) -> list[CropTrack] | None:
    """Detected faces that give the eye/lip ratios of an uncropped source, when the options use them."""
    motion, sliders = options.motion, options.sliders
    targets = sliders is not None and (sliders.target_eye_ratio is not None or sliders.target_lip_ratio is not None)
    if not options.no_crop or not (motion.eye_retargeting or motion.lip_retargeting or motion.normalize_lip
                                   or options.video.eye_hold or targets):
        return None
    return face_tracks(detect_frames(detector, frames), options.face, where=f"the source {options.source}")


def _drivers(options: AnimateOptions, engine: LivePortraitEngine, detector: LazyDetector, faces: list[int],
             timer: StageTimer) -> tuple[list[FaceDriving], list[Path | None]]:
    """Per face, what drives it and the driving file (each file is loaded once; None: only the sliders edit it)."""
    sliders = options.sliders
    loaded: dict[Path | None, FaceDriving] = {None: FaceDriving(None, options=options.motion, sliders=sliders)} if sliders else {}
    paths = []
    for face in faces:
        path = options.face_driving.get(face, options.driving)
        if path is None and not sliders:
            raise SystemExit(f"error: face {face} has no driver: give --driving (for every face) or --face-driving {face}=PATH")
        if path not in loaded:
            loaded[path] = load_driving(engine, path, detector, options.driving_crop, options.motion, options.max_frames,
                                        timer)
        paths.append(path)
    return [replace(loaded[p], sliders=sliders) for p in paths], paths


def _report(animation: Animation, faces: list[int]) -> None:
    for face, missing in zip(faces, animation.missing):
        if missing:
            print(f"face {face}: not found in source frame(s) {frame_ranges(missing)}; kept as they are", file=sys.stderr)


@dataclass(frozen=True)
class PlannedAnimation:
    """What ``animate`` renders: the plan, the indices of the animated faces, and the file whose sound is kept."""

    animation: Animation
    faces: list[int]
    audio: Path | None


def animate(args: argparse.Namespace) -> int:
    """The ``animate`` command."""
    started = time.perf_counter()
    options = AnimateOptions.from_args(args)
    timer = StageTimer(enabled=options.timings)
    with timer.stage("model load"):
        engine = options.engine.load(options.variant, options.compile)
    planned = animate_frames(options, engine, timer)
    print(f"\nwrote {timer.frames} frames ({len(planned.faces)} face(s)) to {options.out} in "
          f"{time.perf_counter() - started:.1f} s ({engine.device.type}, {str(engine.dtype).removeprefix('torch.')})",
          file=sys.stderr)
    if options.timings:
        print(timer.table(), file=sys.stderr)
    return 0


def animate_frames(options: AnimateOptions, engine: LivePortraitEngine, timer: StageTimer) -> PlannedAnimation:
    """Animate ``options.source`` and write ``options.out``; ``timer`` gets the stages, the frame count and the wall
    time (from the inputs to the written file; with ``--compile`` and the timer on, the compiling chunk apart)."""
    begun = time.perf_counter()
    planned = plan_frames(options, engine, timer)
    if options.compile and timer.enabled:  # the first chunk compiles: timed apart, then rendered again
        warm_up = time.perf_counter()
        with timer.stage("compile/warm-up"), closing(_render(options, planned.animation, None, None)) as chunks:
            next(chunks).frames
        begun += time.perf_counter() - warm_up
    chunks = _render(options, planned.animation, timer, print_progress)
    timer.frames = write_frames(options.out, (c.host_frames for c in chunks), planned.animation.fps, planned.audio,
                                timer=timer)
    timer.wall = time.perf_counter() - begun
    return planned


def _render(options: AnimateOptions, animation: Animation, timer: StageTimer | None,
            on_progress: ProgressHook | None) -> Iterator[CompositeChunk]:
    """The output frames, chunk by chunk, as the options ask."""
    return animation.render(options.chunk_size, options.feather, paste=options.paste_back and not options.no_crop,
                            on_progress=on_progress, timer=timer)


def plan_frames(options: AnimateOptions, engine: LivePortraitEngine, timer: StageTimer) -> PlannedAnimation:
    """The faces found, their drivers loaded and the output planned (:func:`~..pipeline.animation.plan_animation`);
    saves the driving motion as a template when asked."""
    with closing(LazyDetector(options.detector)) as detector:
        try:
            kind = media_kind(options.source)
            if kind == "template":
                raise SystemExit(f"error: --source {options.source} is a motion template; give a portrait image or a video")
            frames = (SourceFrames.video(options.source, options.max_frames) if kind == "video"
                      else SourceFrames.image(options.source))
            with timer.stage("detect"):
                tracks, faces = source_tracks(options, frames, detector)
            drivings, paths = _drivers(options, engine, detector, faces, timer)
            with timer.device_stage("source & keypoints", engine.device):
                animation = plan_animation(engine, frames, tracks, drivings, policy=options.frame_policy,
                                           limit=options.max_frames, video=options.video,
                                           landmarks=_ratio_landmarks(options, frames, detector))
        except (NoFaceError, ValueError) as err:
            raise SystemExit(f"error: {err} (detector {options.detector.backend}; --no-crop animates inputs as they are)"
                             if isinstance(err, NoFaceError) else f"error: {err}") from None
    if options.save_template:
        save_template(drivings[0].motion.to("cpu"), options.save_template, source=str(options.source), driving=str(paths[0]))
    _report(animation, faces)
    audio = options.source if frames.is_video else paths[0] if paths[0] and media_kind(paths[0]) == "video" else None
    return PlannedAnimation(animation, faces, audio)
