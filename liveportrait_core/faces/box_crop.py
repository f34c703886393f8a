"""Crops that need no detector: around a face box given by the user, or the centre of the picture.

For animals (the official animal crop needs the X-Pose keypoint detector, which is not part of this
kit) and for any face a detector misses. A face box ``(x, y, w, h)`` is treated as the face's extent,
like the landmark extent of the official crop: the crop square has side ``scale · max(w, h)`` and is
centred on the box, shifted by ``vx_ratio`` / ``vy_ratio`` crop sides (official 2.3, 0, −0.125;
``scale=1, vy_ratio=0`` crops exactly the box's square). The centre crop is the largest centred square.
Neither turns with the face. Tracks made here have no landmarks (NaN), so eye/lip ratios are unknown.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from .crop import CropTrack
from .crop_geometry import SOURCE_CROP, CropParams, box_to_crop_matrix
from .landmark_layout import LP_POINTS


def _track(box: Sequence[float], frames: int, dsize: int) -> CropTrack:
    """A CropTrack cutting the axis-aligned square ``box`` = [l, t, r, b] in each of ``frames`` frames."""
    boxes = torch.tensor([list(box)], dtype=torch.float64).expand(frames, 4)
    nan = float("nan")
    return CropTrack(box_to_crop_matrix(boxes, dsize), torch.full((frames, LP_POINTS, 2), nan),
                     boxes.float().clone(), torch.full((frames,), nan), torch.ones(frames, dtype=torch.bool), dsize)


def track_face_box(box: Sequence[float], image_hw: tuple[int, int], params: CropParams = SOURCE_CROP,
                   frames: int = 1) -> CropTrack:
    """Crop transforms around the face box ``(x, y, w, h)`` (pixels), the same in each of ``frames`` frames.

    Raises:
        ValueError: the box is empty, not finite, or lies outside the ``(height, width)`` picture.
    """
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise ValueError(f"a face box is four finite numbers x,y,w,h; got {list(box)}")
    x, y, w, h = (float(v) for v in box)
    height, width = image_hw
    if w <= 0 or h <= 0:
        raise ValueError(f"the face box {x:g},{y:g},{w:g},{h:g} is empty: width and height must be positive")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"the face box {x:g},{y:g},{w:g},{h:g} lies outside the {width}x{height} picture")
    side = params.scale * max(w, h)
    cx, cy = x + w / 2 + params.vx_ratio * side, y + h / 2 + params.vy_ratio * side
    return _track((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), frames, params.dsize)


def track_center(image_hw: tuple[int, int], dsize: int = SOURCE_CROP.dsize, frames: int = 1) -> CropTrack:
    """Crop transforms of the largest centred square of a ``(height, width)`` picture."""
    height, width = image_hw
    side = min(height, width)
    left, top = (width - side) / 2, (height - side) / 2
    return _track((left, top, left + side, top + side), frames, dsize)
