"""``python -m liveportrait_core edit``: edit the face of a still image with the expression sliders.

Every slider of :data:`~liveportrait_core.editing.sliders.SLIDERS` is an option in the official app's units
(``--smile 0.8 --gaze-x -10 --target-eye-ratio 0.2`` …); ``edit --help`` lists each with its range.
The face is cropped, edited and pasted back (official "Retargeting Image" path) unless ``--no-crop``.
"""
from __future__ import annotations

import argparse
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

from ..editing.sliders import SLIDERS, ExpressionSliders
from ..faces import NoFaceError
from ..faces.crop_geometry import CropParams
from ..faces.detector import FaceChoice
from ..faces.face_tracks import face_tracks
from ..faces.pasteback import DEFAULT_FEATHER
from ..pipeline.animation import detect_frames
from ..pipeline.source_frames import SourceFrames
from ..pipeline.still_edit import edit_still
from .common import EngineOptions, add_engine_arguments
from .crop import DetectorOptions, LazyDetector, add_crop_arguments, add_detector_arguments, source_crop_params


def option_name(slider: str) -> str:
    return "--" + slider.replace("_", "-")


def slider_value(name: str) -> Callable[[str], float]:
    """argparse type: a number within slider ``name``'s range."""
    spec = SLIDERS[name]

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not spec.minimum <= value <= spec.maximum:
            raise argparse.ArgumentTypeError(f"{spec.label} must lie in [{spec.minimum:g}, {spec.maximum:g}], got {text}")
        return value

    return parse


def add_edit_arguments(e: argparse.ArgumentParser) -> None:
    e.add_argument("--source", required=True, type=Path, help="the portrait image to edit")
    e.add_argument("--out", required=True, type=Path, help="output image (.png recommended)")
    add_engine_arguments(e)
    e.add_argument("--no-crop", action="store_true", help="edit the whole image as the face and write the 512x512 render")
    e.add_argument("--no-stitching", action="store_true", help="skip the stitching MLP (the app's default is on)")
    e.add_argument("--feather", type=float, default=DEFAULT_FEATHER, help="paste-back mask edge in crop pixels (default %(default)s)")
    add_detector_arguments(e)
    add_crop_arguments(e)
    add_slider_arguments(e)


def add_slider_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per slider of :data:`SLIDERS` (``--smile V`` …), in a group of its own."""
    s = parser.add_argument_group("sliders (official app units; unset = neutral)")
    for name, spec in SLIDERS.items():
        neutral = "off" if spec.neutral is None else f"{spec.neutral:g}"
        official = f"; official {spec.official}" if spec.official else ""
        s.add_argument(option_name(name), dest=name, type=slider_value(name), metavar="V",
                       help=f"{spec.label}: {spec.minimum:g} to {spec.maximum:g}, neutral {neutral}{official}")


def sliders_from_args(args: argparse.Namespace) -> ExpressionSliders | None:
    """The slider state of the slider options given, or None when none is."""
    given = {name: getattr(args, name) for name in SLIDERS if getattr(args, name) is not None}
    return ExpressionSliders(**given) if given else None


@dataclass(frozen=True)
class EditOptions:
    """The ``edit`` command's options."""

    source: Path
    out: Path
    sliders: ExpressionSliders
    engine: EngineOptions
    detector: DetectorOptions
    face: FaceChoice
    crop: CropParams | None  # None when no face is detected (--no-crop without ratio targets)
    no_crop: bool = False
    stitching: bool = True
    feather: float = DEFAULT_FEATHER

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "EditOptions":
        sliders = sliders_from_args(args) or ExpressionSliders()
        ratios = sliders.target_eye_ratio is not None or sliders.target_lip_ratio is not None
        return cls(args.source, args.out, sliders, EngineOptions.from_args(args), DetectorOptions.from_args(args, args.weights),
                   args.face, source_crop_params(args) if not args.no_crop or ratios else None, args.no_crop,
                   not args.no_stitching, args.feather)


def edit(args: argparse.Namespace) -> int:
    """The ``edit`` command."""
    return edit_picture(EditOptions.from_args(args))


def edit_picture(options: EditOptions) -> int:
    """Edit the face of ``options.source`` with its sliders and write ``options.out``."""
    sliders = options.sliders
    engine = options.engine.load()
    picture = SourceFrames.image(options.source)
    with closing(LazyDetector(options.detector)) as detector:
        try:
            detected = None
            if options.crop is not None:
                detected = face_tracks(detect_frames(detector, picture), options.face, options.crop,
                                       where=f"the image {options.source}")[0]
        except NoFaceError as err:
            raise SystemExit(f"error: {err} (detector {options.detector.backend}; --no-crop edits the whole image)") from None
    result = edit_still(engine, picture, None if options.no_crop else detected, sliders, stitching=options.stitching,
                        feather=options.feather, landmarks=detected)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.frames[0].numpy()).save(options.out)
    changed = ", ".join(f"{k}={v:g}" for k, v in sliders.changed().items()) or "none (neutral)"
    print(f"wrote {options.out} (sliders: {changed})", file=sys.stderr)
    return 0
