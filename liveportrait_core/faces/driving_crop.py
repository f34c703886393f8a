"""Driving-video auto-crop (official ``Cropper.crop_driving_video``) and the rule for inputs that need none.

Per frame, the driving box is the crop square of the 203 landmarks (scale 2.2, vy −0.1, sized in
the face-aligned frame) made axis-aligned. The official code then crops **every** frame with the
**mean** box of the clip (``average_bbox_lst``): a still crop that cannot jitter, but does not follow
a head that moves far. ``mode="smooth"`` instead follows the face with a Gaussian-smoothed box.

Already-cropped inputs: a driving video or image whose frames are square and at most 512 pixels
wide (the official crop writes 512x512; LivePortrait's example driving videos are 480 / 512
squares) is taken as a face crop and used without detection. Anything else (landscape or portrait
frames, large squares such as 1080x1080 phone videos) is auto-cropped. Callers can force either way.
"""
from __future__ import annotations

from typing import Literal, Sequence

import torch
from torch import Tensor

from .crop import CropTrack, MissingFace, pick_per_frame
from .crop_geometry import DRIVING_CROP, CropParams, box_to_crop_matrix, crop_rect, rect_to_box
from .crop_smoothing import fill_gaps, gaussian_smooth
from .detector import FaceChoice, FaceDetections

DrivingMode = Literal["average", "smooth"]
DRIVING_MODES = ("average", "smooth")
PREPARED_CROP_MAX_SIDE = 512
DRIVING_SIGMA = 3.0  # frames, for mode "smooth"


def is_prepared_crop(width: int, height: int) -> bool:
    """Whether frames of this size are taken as an already-cropped face (square, side <= 512)."""
    return width == height and width <= PREPARED_CROP_MAX_SIDE


def driving_boxes(landmarks: Tensor, params: CropParams = DRIVING_CROP) -> Tensor:
    """(N, 203, 2) landmarks -> (N, 4) float64 axis-aligned driving boxes ``[l, t, r, b]`` (official
    ``parse_bbox_from_landmark(...)["bbox"]``)."""
    return rect_to_box(crop_rect(landmarks, params.scale, params.vx_ratio, params.vy_ratio))


def average_box(boxes: Tensor) -> Tensor:
    """(N, 4) -> (4,) mean box of the clip (official ``average_bbox_lst``)."""
    if boxes.shape[0] == 0:
        raise ValueError("no boxes to average")
    return boxes.double().mean(dim=0)


def smooth_boxes(boxes: Tensor, valid: Tensor, sigma: float = DRIVING_SIGMA) -> Tensor:
    """Per-frame boxes (N, 4) smoothed over ``sigma`` frames as centre and side (squares stay square);
    rows where ``valid`` is False are interpolated from their neighbours first."""
    b = boxes.double()
    series = torch.cat(((b[:, :2] + b[:, 2:]) / 2, (b[:, 2:3] - b[:, 0:1])), dim=1)
    smooth = gaussian_smooth(fill_gaps(series, valid), sigma)
    half = smooth[:, 2:] / 2
    return torch.cat((smooth[:, :2] - half, smooth[:, :2] + half), dim=1)


def track_driving_frames(detections: Sequence[FaceDetections], params: CropParams = DRIVING_CROP,
                         mode: DrivingMode = "average", sigma: float = DRIVING_SIGMA, face: FaceChoice = "largest",
                         on_missing: MissingFace = "fail") -> CropTrack:
    """Crop transforms of a driving video: every frame cut with the clip's mean box (``"average"``,
    official) or with a smoothed per-frame box (``"smooth"``). Frames without a face (with
    ``on_missing="skip"``) take the mean / interpolated box and ``found = False``."""
    if mode not in DRIVING_MODES:
        raise ValueError(f"mode must be one of {DRIVING_MODES}, got {mode!r}")
    faces, found = pick_per_frame(detections, face, on_missing)
    boxes = torch.full((len(found), 4), float("nan"), dtype=torch.float64)
    boxes[found] = driving_boxes(faces.landmarks[found], params)
    if mode == "average":
        boxes = average_box(boxes[found]).expand(len(found), 4)
    else:
        boxes = smooth_boxes(boxes, found, sigma)
    return CropTrack(box_to_crop_matrix(boxes, params.dsize), faces.landmarks, faces.boxes, faces.scores, found,
                     params.dsize)
