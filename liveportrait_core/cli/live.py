"""``python -m liveportrait_core live``: animate a portrait from a webcam, or a clip played in real time, shown in a
window and/or written to a file; prints the frames per second, latency and dropped frames at the end."""
from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

from ..editing.sliders import ExpressionSliders
from ..faces import CropParams
from ..faces.pasteback import DEFAULT_FEATHER
from ..live import LiveOptions, LiveSession, prepare_source
from ..live.player import CameraInput, ClipInput, FileSink, FrameInput, LiveInputError, WindowSink, display_available, play
from ..live.session import CROP_MODES, ON_MISSING, SMOOTHING
from ..live.tracking import DEFAULT_DRIFT
from ..media import read_image
from .animate import add_motion_arguments, driving_options
from .common import EngineOptions, add_engine_arguments
from .crop import DetectorOptions, add_crop_arguments, add_detector_arguments, source_crop_params
from .edit import add_slider_arguments, sliders_from_args


def camera_or_clip(text: str) -> int | Path:
    """argparse type of ``--driving``: a webcam index (0, 1, …) or a video file."""
    return int(text) if text.isdigit() else Path(text)


def add_live_arguments(a: argparse.ArgumentParser) -> None:
    a.add_argument("--source", required=True, type=Path, help="the portrait to animate (its largest face)")
    a.add_argument("--driving", required=True, type=camera_or_clip,
                   help="a webcam index (0 = the first camera, through OpenCV) or a video file played at its real-time rate")
    a.add_argument("--out", type=Path, help="also write the result to OUT.mp4, each frame at the time its input arrived")
    a.add_argument("--no-window", action="store_true", help="do not show the result in a window (the default where a display exists)")
    a.add_argument("--as-fast-as-possible", action="store_true",
                   help="a clip: feed its frames as fast as they are rendered instead of at its real-time rate (none dropped)")
    a.add_argument("--max-frames", type=int, help="stop after showing N frames")
    add_engine_arguments(a)
    add_motion_arguments(a)
    g = a.add_argument_group("live")
    g.add_argument("--smoothing", choices=SMOOTHING, default="none",
                   help="causal smoothing of the driving motion: kalman (the official filter, forward only) or one_euro")
    g.add_argument("--smoothing-strength", type=float, default=0.5, help="one_euro: 0..1, time constant strength x 0.2 s")
    g.add_argument("--driving-crop", choices=CROP_MODES, default="auto",
                   help="auto: crop the camera frames unless they are square and at most 512 px (face crops already)")
    g.add_argument("--drift", type=float, default=DEFAULT_DRIFT,
                   help="detect the face again when it moved this much in its crop (crop = -1..1; default %(default)s)")
    g.add_argument("--redetect-every", type=int, default=0, help="also detect the face again every N frames (0: on drift only)")
    g.add_argument("--on-missing-face", choices=ON_MISSING, default="hold",
                   help="a frame without a face shows the last good frame (hold) or the source at rest (source)")
    g.add_argument("--no-paste-back", action="store_true", help="show the 512x512 face instead of the whole portrait")
    g.add_argument("--feather", type=float, default=DEFAULT_FEATHER, help="paste-back mask edge in crop pixels")
    add_detector_arguments(a)
    add_crop_arguments(a)
    add_slider_arguments(a)
    a.set_defaults(variant="human")


@dataclass(frozen=True)
class LiveCommand:
    """The ``live`` command's options."""

    source: Path
    driving: int | Path
    out: Path | None
    window: bool
    realtime: bool
    max_frames: int | None
    engine: EngineOptions
    detector: DetectorOptions
    crop: CropParams
    options: LiveOptions
    sliders: ExpressionSliders | None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "LiveCommand":
        window = not args.no_window
        if window and not display_available():
            print("no display: the result is not shown in a window" + ("" if args.out else "; give --out FILE to keep it"),
                  file=sys.stderr)
            window = False
        try:
            options = LiveOptions(driving_options(args), smoothing=args.smoothing, strength=args.smoothing_strength,
                                  crop=args.driving_crop, drift=args.drift, redetect_every=args.redetect_every,
                                  paste_back=not args.no_paste_back, feather=args.feather, on_missing=args.on_missing_face)
        except ValueError as err:
            raise SystemExit(f"error: {err}") from None
        return cls(args.source, args.driving, args.out, window, not args.as_fast_as_possible, args.max_frames,
                   EngineOptions.from_args(args), DetectorOptions.from_args(args, args.weights), source_crop_params(args),
                   options, sliders_from_args(args))


def live(args: argparse.Namespace) -> int:
    command = LiveCommand.from_args(args)
    try:
        source: FrameInput = (CameraInput(command.driving) if isinstance(command.driving, int)
                              else ClipInput(command.driving, realtime=command.realtime))
    except LiveInputError as err:
        raise SystemExit(f"error: {err}") from None
    engine = command.engine.load()
    picture = read_image(command.source)
    options = replace(command.options, fps=source.fps)
    with ExitStack() as stack:
        detector = command.detector.create()
        stack.callback(detector.close)
        try:
            prepared = prepare_source(engine, picture, detector, params=command.crop, feather=options.feather)
            session = stack.enter_context(LiveSession(engine, prepared, detector, options, sliders=command.sliders))
        except ValueError as err:
            raise SystemExit(f"error: {err}") from None
        sinks = []
        if command.out is not None:
            sink = FileSink(command.out, source.fps)
            stack.callback(sink.close)
            sinks.append(sink)
        if command.window:
            window = WindowSink(session)
            stack.callback(window.close)
            sinks.append(window)
        report = play(session, source, sinks, max_frames=command.max_frames)
    print(report.table())
    if command.out is not None:
        print(f"wrote {command.out}")
    if report.input_error or getattr(source, "stopped", False):
        print(f"{source.name} stopped sending frames after {report.frames_in}", file=sys.stderr)
    return 0
