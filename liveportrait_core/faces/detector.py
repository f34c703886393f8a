"""The face-detector interface shared by the backends, and picking faces from its results.

A backend takes a batch of uint8 RGB images and returns, per image, a :class:`FaceDetections`:
boxes, scores and landmarks of every face found, largest first (official "large-small" order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .landmark_layout import LP_POINTS

FaceChoice = Union[str, int]  # "largest", "all", or an index into the largest-first order
BACKENDS = ("mediapipe", "insightface")


class NoFaceError(ValueError):
    """No face was found; the message names the image or frame."""


DUPLICATE_IOU = 0.5  # two detections overlapping this much (intersection over union) are one face reported twice


def box_iou(a: Tensor, b: Tensor) -> Tensor:
    """(K, 4), (M, 4) ``[l, t, r, b]`` boxes -> (K, M) intersection over union."""
    lo, hi = torch.maximum(a[:, None, :2], b[None, :, :2]), torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (hi - lo).clamp_min(0).prod(-1)
    area_a, area_b = (a[:, 2:] - a[:, :2]).prod(-1), (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter).clamp_min(1e-12)


@dataclass
class FaceDetections:
    """The faces found in one image, largest box first.

    boxes: (K, 4) float32 ``[left, top, right, bottom]`` in pixels.
    scores: (K,) float32 detector confidence (NaN where the backend gives none).
    landmarks: (K, 203, 2) float32 pixels in the LivePortrait 203 layout (see ``landmark_layout``).
    crop_points: (K, P, 2) float32 pixels: the set the official source-image crop is computed from
        (insightface: its 106 points; MediaPipe: the 203 landmarks).
    """

    boxes: Tensor
    scores: Tensor
    landmarks: Tensor
    crop_points: Tensor

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    @classmethod
    def empty(cls, crop_points: int = LP_POINTS) -> "FaceDetections":
        return cls(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, LP_POINTS, 2), torch.zeros(0, crop_points, 2))

    def select(self, index: Tensor | list[int] | slice) -> "FaceDetections":
        return FaceDetections(self.boxes[index], self.scores[index], self.landmarks[index], self.crop_points[index])

    def largest_first(self) -> "FaceDetections":
        """The same faces sorted by box area, largest first (stable)."""
        area = (self.boxes[:, 2] - self.boxes[:, 0]) * (self.boxes[:, 3] - self.boxes[:, 1])
        return self.select(torch.argsort(-area, stable=True))

    def without_duplicates(self, iou: float = DUPLICATE_IOU) -> "FaceDetections":
        """The faces with every box that overlaps an earlier (larger, once sorted) box by more than ``iou`` dropped:
        a detector that reports one face twice would otherwise make "face 1" the same face as face 0."""
        overlap = box_iou(self.boxes, self.boxes).triu(diagonal=1) > iou
        return self.select(~overlap.any(dim=0))


class FaceDetector(Protocol):
    """A face detector backend (see ``mediapipe_detector`` and ``insightface_detector``)."""

    name: str

    def detect(self, images: Sequence[np.ndarray] | np.ndarray | Tensor) -> list[FaceDetections]:
        """uint8 RGB images, (N, H, W, 3) or a sequence of (H, W, 3) -> one result per image."""
        ...

    def close(self) -> None:
        """Release the backend's sessions."""
        ...

    def __enter__(self) -> "FaceDetector": ...

    def __exit__(self, *exc) -> None: ...


def choose_faces(detections: FaceDetections, choice: FaceChoice = "largest", where: str = "the image") -> FaceDetections:
    """Faces picked from largest-first detections: ``"largest"``, ``"all"`` or an index.

    Raises:
        NoFaceError: nothing detected, or the index is out of range (the message says where).
    """
    if len(detections) == 0:
        raise NoFaceError(f"no face found in {where}")
    if choice == "all":
        return detections
    if choice == "largest":
        return detections.select([0])
    if isinstance(choice, int) and not isinstance(choice, bool):
        if not -len(detections) <= choice < len(detections):
            raise NoFaceError(f"face index {choice} requested but {where} has {len(detections)} face(s) (0 is the largest)")
        return detections.select([choice % len(detections)])
    raise ValueError(f"face choice must be 'largest', 'all' or an index, got {choice!r}")
