"""Command-line pieces for faces: detector and crop options, and ``python -m liveportrait_core crop``.

``crop --source IMG --out DIR`` writes, per face, the 512 crop (``crop.png``; further faces
``crop_1.png`` …), the crop with its landmarks drawn (``landmarks.png`` …) and one ``crop.json``
describing every face written.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from ..faces import BACKENDS, NoFaceError, create_detector, cut_crops, track_source_image
from ..faces.crop_geometry import SOURCE_CROP, CropParams
from ..faces.detector import FaceChoice, FaceDetector
from ..faces.detector_pool import default_workers
from ..faces.draw import draw_landmarks
from ..media import read_image


def face_choice(text: str) -> FaceChoice:
    """argparse type: "largest" or a face index (0 = largest)."""
    if text == "largest":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'largest' or a face index, got {text!r}") from None


def worker_count(text: str) -> int:
    """argparse type: a number of detector workers, at least 1."""
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of workers, 1 or more, got {text!r}")
    return count


def add_detector_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("face detection")
    g.add_argument("--detector", choices=BACKENDS, default="mediapipe",
                   help="mediapipe (default, light) or insightface (the official SCRFD + 106 + 203-point stack)")
    g.add_argument("--detector-models", type=Path,
                   help="folder of the detector files, downloaded there when missing (default: the weights folder)")
    g.add_argument("--det-thresh", type=float, help="minimum detection confidence (default: mediapipe 0.5, insightface 0.1)")
    g.add_argument("--face", type=face_choice, default="largest", help="'largest' (default) or a face index, 0 = largest")
    g.add_argument("--detector-workers", type=worker_count, metavar="N",
                   help="threads detecting the frames of a video, each with its own detector; 1 = one detector "
                        "(default: mediapipe one per CPU but one, at most 8; insightface 1)")


def add_crop_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("source crop (official defaults)")
    g.add_argument("--crop-scale", type=float, default=SOURCE_CROP.scale, help="crop side / face size (default %(default)s)")
    g.add_argument("--crop-vx", type=float, default=SOURCE_CROP.vx_ratio,
                   help="sideways shift in crop sides (default %(default)s; the official crop ignores this setting)")
    g.add_argument("--crop-vy", type=float, default=SOURCE_CROP.vy_ratio,
                   help="vertical shift in crop sides, negative = towards the forehead (default %(default)s)")
    g.add_argument("--no-crop-rotation", action="store_true", help="keep the crop axis-aligned (no roll alignment)")


def source_crop_params(args: argparse.Namespace) -> CropParams:
    """The source crop the options of :func:`add_crop_arguments` ask for."""
    return CropParams(scale=args.crop_scale, vx_ratio=args.crop_vx, vy_ratio=args.crop_vy, rotate=not args.no_crop_rotation)


@dataclass(frozen=True)
class DetectorOptions:
    """The face detector the options of :func:`add_detector_arguments` ask for.

    models: folder of the detector files (``--detector-models``, else the weights folder);
    device: insightface's onnxruntime provider, "auto", "cpu" or "cuda" (from ``--device``);
    workers: threads detecting a video's frames (``--detector-workers``; None: the backend's default).
    """

    backend: str
    models: Path
    threshold: float | None = None
    device: str = "auto"
    download: bool = True
    workers: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, default_models: Path) -> "DetectorOptions":
        device = {"cuda": "cuda", "cpu": "cpu", "mps": "cpu"}.get(args.device, "auto")
        return cls(args.detector, args.detector_models or default_models, args.det_thresh, device, not args.no_download,
                   args.detector_workers)

    def create(self) -> FaceDetector:
        """The detector; a pool of threads when more than one worker is asked for (or is the default)."""
        workers = default_workers(self.backend) if self.workers is None else self.workers
        return create_detector(self.backend, self.models, threshold=self.threshold, device=self.device,
                               download=self.download, workers=workers)


@dataclass(frozen=True)
class CropOptions:
    """The ``crop`` command's options."""

    source: Path
    out: Path
    faces: FaceChoice | Literal["all"]
    detector: DetectorOptions
    params: CropParams

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "CropOptions":
        return cls(args.source, args.out, "all" if args.all_faces else args.face, DetectorOptions.from_args(args, args.weights),
                   source_crop_params(args))


def _matrix_2x3(m: torch.Tensor) -> list[list[float]]:
    return [[float(v) for v in row] for row in m[:2]]


def _score(value: float) -> float | None:
    return None if math.isnan(value) else value


def crop_main(args: argparse.Namespace) -> int:
    """The ``crop`` command (see the module docstring)."""
    return crop(CropOptions.from_args(args))


def crop(options: CropOptions) -> int:
    """Detect, crop and write the faces of ``options.source``."""
    image = read_image(options.source)
    params = options.params
    with options.detector.create() as detector:
        detections = detector.detect(image)[0]
    try:
        track = track_source_image(detections, params, options.faces, f"{options.source}")
    except NoFaceError as err:
        raise SystemExit(f"error: {err} (detector {options.detector.backend}; try --detector insightface or a lower --det-thresh)") from None
    crops = cut_crops(image, track).numpy()
    options.out.mkdir(parents=True, exist_ok=True)
    faces = []
    for i in range(len(track)):
        suffix = "" if i == 0 else f"_{i}"
        crop_file, drawing_file = f"crop{suffix}.png", f"landmarks{suffix}.png"
        Image.fromarray(crops[i]).save(options.out / crop_file)
        Image.fromarray(draw_landmarks(crops[i], track.landmarks_crop[i].numpy())).save(options.out / drawing_file)
        faces.append({
            "crop": crop_file,
            "landmarks_drawing": drawing_file,
            "score": _score(float(track.scores[i])),
            "box": [float(v) for v in track.boxes[i]],
            "affine_original_to_crop": _matrix_2x3(track.original_to_crop[i]),
            "affine_crop_to_original": _matrix_2x3(track.crop_to_original[i]),
            "eye_open_ratio": [float(v) for v in track.eye_ratio[i]],
            "lip_open_ratio": float(track.lip_ratio[i, 0]),
            "landmarks": np.round(track.landmarks[i].numpy().astype(np.float64), 3).tolist(),
        })
    info = {
        "source": str(options.source),
        "image_size": [int(image.shape[1]), int(image.shape[0])],
        "detector": options.detector.backend,
        "crop": {"size": params.dsize, "scale": params.scale, "vx_ratio": params.vx_ratio, "vy_ratio": params.vy_ratio,
                 "rotate": params.rotate},
        "landmark_layout": "LivePortrait 203 points (see liveportrait_core/faces/landmark_layout.py), original pixels",
        "faces": faces,
    }
    (options.out / "crop.json").write_text(json.dumps(info, indent=1))
    print(f"wrote {len(faces)} face crop(s) to {options.out}")
    return 0


class LazyDetector:
    """Creates the detector the options ask for on first use only (so paths that need none stay offline)."""

    def __init__(self, options: DetectorOptions):
        self._options = options
        self._detector: FaceDetector | None = None

    def detect(self, images):
        if self._detector is None:
            self._detector = self._options.create()
        return self._detector.detect(images)

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
