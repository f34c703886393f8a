"""Crop geometry from landmarks, as the official ``src/utils/crop.py`` computes it, batched on torch.

The face frame: ``uy`` points from the eye centre to the mouth centre, ``ux = (uy_y, −uy_x)``
(so the angle is ``atan2(ux_y, ux_x)``, y down). All landmarks are projected onto (ux, uy) about
their mean; the crop square's side is the larger extent × ``scale`` and its centre is the middle of
the extent, shifted by ``vx_ratio·side`` along ux and ``vy_ratio·side`` along uy (negative vy
moves the box towards the forehead). The crop maps that centre to pixel ``(dsize/2, dsize/2)``
(not ``(dsize − 1)/2``), with cv2's integer pixel centres.

``vx_ratio``: the official ``crop_image`` never passes it on (and the driving crop passes it under
a name that is swallowed), so it has no effect there. Here it is honoured; its default 0 gives
the official result, and a non-zero value really shifts the crop sideways.

Everything is computed in float64 (the official code uses float32 and ``acos``, which loses up
to 2e-5 rad near upright faces); matrices are (B, 3, 3), boxes (B, 4) ``[left, top, right, bottom]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .landmark_layout import eye_mouth_points


@dataclass(frozen=True)
class CropParams:
    """Crop settings; the defaults are the official source-image crop (``CropConfig``).

    dsize: side of the crop in pixels.
    scale: crop side / landmark extent (larger = more background).
    vx_ratio, vy_ratio: shift of the centre along the face's x / y axis, in crop sides.
    rotate: align the crop with the face (eyes level); False keeps it axis-aligned.
    """

    dsize: int = 512
    scale: float = 2.3
    vx_ratio: float = 0.0
    vy_ratio: float = -0.125
    rotate: bool = True

    def __post_init__(self) -> None:
        if self.dsize < 2:
            raise ValueError(f"CropParams.dsize must be at least 2, got {self.dsize}")
        if not self.scale > 0:
            raise ValueError(f"CropParams.scale must be positive, got {self.scale}")


SOURCE_CROP = CropParams()
DRIVING_CROP = CropParams(scale=2.2, vy_ratio=-0.1, rotate=False)  # official driving-video auto crop
LANDMARK_RUNNER_CROP = CropParams(dsize=224, scale=1.5, vy_ratio=-0.1)  # input of the 203-point model


@dataclass
class CropRect:
    """A face-aligned crop square in original pixels: centre (B, 2), side (B,), angle (B,) in radians."""

    center: Tensor
    size: Tensor
    angle: Tensor


def crop_rect(points: Tensor, scale: float, vx_ratio: float = 0.0, vy_ratio: float = 0.0,
              use_lip: bool = True) -> CropRect:
    """The crop square of each landmark set (official ``parse_rect_from_landmark``, float64).

    Args:
        points: (B, N, 2) landmarks in a layout that :func:`eye_mouth_points` reads.
    """
    pts = points.double()
    pt2 = eye_mouth_points(pts, use_lip)
    uy = pt2[:, 1] - pt2[:, 0]
    length = uy.norm(dim=-1, keepdim=True)
    down = torch.tensor([0.0, 1.0], dtype=pts.dtype, device=pts.device).expand_as(uy)
    uy = torch.where(length > 1e-3, uy / length.clamp_min(1e-300), down)
    ux = torch.stack((uy[:, 1], -uy[:, 0]), dim=-1)
    center0 = pts.mean(dim=1)
    rel = pts - center0[:, None]
    proj = torch.stack(((rel * ux[:, None]).sum(-1), (rel * uy[:, None]).sum(-1)), dim=-1)  # (B, N, 2)
    lo, hi = proj.min(dim=1).values, proj.max(dim=1).values
    mid = (lo + hi) / 2
    size = (hi - lo).max(dim=-1).values * scale
    center = center0 + ux * mid[:, :1] + uy * mid[:, 1:]
    center = center + ux * (vx_ratio * size)[:, None] + uy * (vy_ratio * size)[:, None]
    return CropRect(center=center, size=size, angle=torch.atan2(ux[:, 1], ux[:, 0]))


def rect_to_crop_matrix(rect: CropRect, dsize: int, rotate: bool = True) -> Tensor:
    """(B, 3, 3) original -> crop affine: rows ``s·ux``, ``s·uy`` (``s·I`` without rotation), centre -> dsize/2."""
    s = dsize / rect.size
    angle = rect.angle if rotate else torch.zeros_like(rect.angle)
    cos, sin = torch.cos(angle), torch.sin(angle)
    linear = torch.stack((torch.stack((cos, sin), -1), torch.stack((-sin, cos), -1)), dim=-2) * s[:, None, None]
    return _affine(linear, dsize / 2 - (linear @ rect.center[..., None])[..., 0])


def crop_matrix(points: Tensor, params: CropParams = SOURCE_CROP) -> Tensor:
    """(B, 3, 3) original -> crop affine for landmark sets (B, N, 2) (official ``crop_image``'s ``M_o2c``)."""
    rect = crop_rect(points, params.scale, params.vx_ratio, params.vy_ratio)
    return rect_to_crop_matrix(rect, params.dsize, params.rotate)


def rect_to_box(rect: CropRect) -> Tensor:
    """(B, 4) axis-aligned ``[left, top, right, bottom]`` of side ``size`` about the centre (official driving ``bbox``)."""
    half = rect.size[:, None] / 2
    return torch.cat((rect.center - half, rect.center + half), dim=-1)


def box_corners(boxes: Tensor, angle: Tensor | None = None) -> Tensor:
    """(B, 4, 2) corners (left-top, right-top, right-bottom, left-bottom) of boxes (B, 4), optionally
    turned by ``angle`` (B,) about their centres (official ``bbox_rot``: ``R = [[cos, −sin], [sin, cos]]``)."""
    l, t, r, b = boxes.unbind(-1)
    corners = torch.stack((torch.stack((l, t), -1), torch.stack((r, t), -1), torch.stack((r, b), -1),
                           torch.stack((l, b), -1)), dim=-2)
    if angle is None:
        return corners
    center = corners.mean(dim=-2, keepdim=True)
    cos, sin = torch.cos(angle)[:, None], torch.sin(angle)[:, None]
    rel = corners - center
    return torch.stack((rel[..., 0] * cos - rel[..., 1] * sin, rel[..., 0] * sin + rel[..., 1] * cos), -1) + center


def box_to_crop_matrix(boxes: Tensor, dsize: int) -> Tensor:
    """(B, 3, 3) original -> crop affine of axis-aligned boxes (B, 4) (official ``crop_image_by_bbox``).

    The scale is ``dsize / (right − left)``; the box centre maps to ``dsize/2``.
    """
    boxes = boxes.double()
    s = dsize / (boxes[:, 2] - boxes[:, 0])
    center = torch.stack(((boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2), -1)
    linear = torch.eye(2, dtype=boxes.dtype, device=boxes.device) * s[:, None, None]
    return _affine(linear, dsize / 2 - s[:, None] * center)


def invert_affine(matrices: Tensor) -> Tensor:
    """(B, 3, 3) inverse of affine matrices (float64, last row exactly [0, 0, 1])."""
    m = matrices.double()
    linear_inv = torch.linalg.inv(m[:, :2, :2])
    return _affine(linear_inv, -(linear_inv @ m[:, :2, 2:])[..., 0])


def transform_points(points: Tensor, matrices: Tensor) -> Tensor:
    """Apply (B, 3, 3) affine matrices to points (B, N, 2) (``pts @ M[:2, :2].T + M[:2, 2]``)."""
    m = matrices.to(points.dtype)
    return points @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]


def _affine(linear: Tensor, translation: Tensor) -> Tensor:
    """(B, 3, 3) from a linear part (B, 2, 2) and a translation (B, 2)."""
    top = torch.cat((linear, translation[..., None]), dim=-1)
    last = torch.tensor([0.0, 0.0, 1.0], dtype=top.dtype, device=top.device).expand(top.shape[0], 1, 3)
    return torch.cat((top, last), dim=1)
