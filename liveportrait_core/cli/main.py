"""Command line on the core: ``python -m liveportrait_core animate|edit|live|crop|convert ...``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..faces import FaceModelsNotFoundError
from ..media import MediaError
from ..motion.templates import TemplateError
from ..weights.checkpoints import CheckpointError
from ..weights.files import WeightsNotFoundError
from . import convert
from .animate import add_animate_arguments, animate
from .common import DEFAULT_WEIGHTS
from .crop import add_crop_arguments, add_detector_arguments, crop_main
from .edit import add_edit_arguments, edit
from .live import add_live_arguments, live


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m liveportrait_core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_animate_arguments(sub.add_parser(
        "animate", help="animate the face(s) of a portrait or a source video from driving videos, images or motion templates"))
    add_edit_arguments(sub.add_parser(
        "edit", help="edit the face of a still image with the expression sliders (official units)"))
    add_live_arguments(sub.add_parser(
        "live", help="animate a portrait live from a webcam, or a clip in real time; shows and/or writes the result"))
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


COMMANDS = {"animate": animate, "edit": edit, "live": live, "crop": crop_main}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["convert"]:
        return convert.main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (WeightsNotFoundError, FaceModelsNotFoundError, CheckpointError, TemplateError, MediaError, ImportError) as err:
        # user-fixable problems (missing or wrong files, unreadable inputs, missing packages): the message says what to do
        raise SystemExit(f"error: {err}") from None
