"""The light, default backend: MediaPipe FaceLandmarker (tasks API, 478 points), CPU.

Needs ``mediapipe`` >= 1.0 (numpy 2 compatible; it installs ``opencv-contrib-python``, which its
drawing utilities import). Its one model file, ``face_landmarker.task`` (float16, 3.6 MB), is
downloaded from Google's storage into ``<models_dir>/mediapipe/`` on first use.

Landmarks: the 478 points (``x_norm·W``, ``y_norm·H``) mapped to the 203 layout with
:func:`~.landmark_layout.mediapipe_to_203`. Box: the extent of the 478 points. Score: FaceLandmarker
reports none, so the face detector bundled in the same ``.task`` file is run as well and each face
takes the best score of the detections whose box holds the face's centre (NaN if none does).
"""
from __future__ import annotations

import zipfile
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from .detector import FaceDetections
from .images import as_uint8_images
from .landmark_layout import mediapipe_to_203
from .model_store import Folders, ModelFile, ensure_model_files

FACE_LANDMARKER = ModelFile(
    "mediapipe/face_landmarker.task",
    url="https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/face_landmarker.task",
    sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
)
DEFAULT_CONFIDENCE = 0.5  # MediaPipe's own default; insightface's 0.1 lets MediaPipe find faces in shadows
_SCORE_DETECTOR_CONFIDENCE = 0.05  # low: only used to read a score for faces the landmarker found


def _mediapipe():
    try:
        import mediapipe
        from mediapipe.tasks.python import BaseOptions, vision
    except ImportError as err:
        raise ImportError(f"the 'mediapipe' face detector cannot import mediapipe ({err}); install it with "
                          "pip install 'mediapipe>=1.0' (its OpenCV needs libGL.so.1 on Linux), or choose the "
                          "'insightface' detector") from err
    return mediapipe, BaseOptions, vision


class MediaPipeDetector:
    """MediaPipe FaceLandmarker behind the :class:`~.detector.FaceDetector` interface (images one by one, CPU)."""

    name = "mediapipe"

    def __init__(self, models_dir: Folders, max_faces: int = 4, min_confidence: float = DEFAULT_CONFIDENCE,
                 download: bool = True):
        mp, BaseOptions, vision = _mediapipe()
        (task,) = ensure_model_files(self.name, models_dir, (FACE_LANDMARKER,), download)
        self._mp = mp
        self._landmarker = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task)), running_mode=vision.RunningMode.IMAGE,
            num_faces=max_faces, min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence))
        with zipfile.ZipFile(task) as bundle:
            detector_model = bundle.read("face_detector.tflite")
        self._detector = vision.FaceDetector.create_from_options(vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_buffer=detector_model),
            min_detection_confidence=_SCORE_DETECTOR_CONFIDENCE))

    def detect(self, images: Sequence[np.ndarray] | np.ndarray | Tensor) -> list[FaceDetections]:
        """uint8 RGB images -> one :class:`FaceDetections` per image, largest face first."""
        return [self._detect_one(img) for img in as_uint8_images(images)]

    def _detect_one(self, rgb: np.ndarray) -> FaceDetections:
        h, w = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=rgb)
        faces = self._landmarker.detect(image).face_landmarks
        if not faces:
            return FaceDetections.empty()
        points = torch.tensor([[(p.x * w, p.y * h) for p in face] for face in faces], dtype=torch.float32)
        boxes = torch.cat((points.min(dim=1).values, points.max(dim=1).values), dim=1)
        scores = self._scores(image, boxes)
        landmarks = mediapipe_to_203(points)
        return FaceDetections(boxes, scores, landmarks, landmarks).largest_first().without_duplicates()

    def _scores(self, image, boxes: Tensor) -> Tensor:
        """(K,) best detector score whose box holds each face's box centre (NaN where none)."""
        found = [(d.categories[0].score, d.bounding_box) for d in self._detector.detect(image).detections]
        centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        scores = torch.full((boxes.shape[0],), float("nan"))
        for score, b in found:
            inside = ((centres[:, 0] >= b.origin_x) & (centres[:, 0] <= b.origin_x + b.width)
                      & (centres[:, 1] >= b.origin_y) & (centres[:, 1] <= b.origin_y + b.height))
            scores = torch.where(inside & ~(scores >= score), torch.tensor(float(score)), scores)
        return scores

    def close(self) -> None:
        self._landmarker.close()
        self._detector.close()

    def __enter__(self) -> "MediaPipeDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
