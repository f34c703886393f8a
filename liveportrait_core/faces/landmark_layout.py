"""Landmark layouts: which points the crop and the eye/lip ratios read, and MediaPipe 478 -> 203.

The official code reads only a few indices of each layout (``parse_pt2_from_pt_x`` for the crop,
``calc_eye_close_ratio`` / ``calc_lip_close_ratio`` for the ratios); the crop also uses the extent
and mean of the whole point set. "Left" means image-left (the viewer's left).

=========  ==========================================  ===================================
layout     eye centres (mean of the points)            mouth centre (mean of the corners)
=========  ==========================================  ===================================
203        left 0, 6, 12, 18 / right 24, 30, 36, 42    48, 66
106        left 33, 35, 40, 39 / right 87, 89, 94, 93  52, 61
68 (iBUG)  left 36, 39 / right 42, 45                  48, 54
5          left 0 / right 1                            3, 4
=========  ==========================================  ===================================

Ratios (203 layout only): eye = |p6 − p18| / |p0 − p12| (left), |p30 − p42| / |p24 − p36| (right);
lip = |p90 − p102| / |p48 − p66| (inner-lip opening over mouth width).

MediaPipe FaceLandmarker (478 points) -> 203, the construction of the conformance fixtures (so the
official geometry sees the same points). Rings are resampled at equal arc length along the upper
contour (corner to corner) and back along the lower one:

========  ===========================================================  ==================================
203       MediaPipe source (contour order)                             read points
========  ===========================================================  ==================================
0–23      left eye: upper 33…133, lower 133…33 (24-point ring)         0 outer corner, 6 upper middle,
                                                                       12 inner corner, 18 lower middle
24–47     right eye: upper 362…263, lower 263…362                      24 inner, 30 upper, 36 outer, 42 lower
48–83     outer lip: upper 61…291, lower 291…61 (36-point ring)        48 left corner, 57 upper middle,
                                                                       66 right corner, 75 lower middle
84–107    inner lip: upper 78…308, lower 308…78 (24-point ring)        90 upper inner middle, 102 lower
108–140   jaw contour 127…152…356, 33 points                           extent only
141–160   eyebrows (10 + 10 points)                                    extent only
161–178   nose (18 points)                                             extent only
179–180   iris centres 468, 473                                        –
181–202   cheeks (22 points)                                           extent only
========  ===========================================================  ==================================
"""
from __future__ import annotations

import torch
from torch import Tensor

# MediaPipe index lists (contour order), image-left first.
MP_LEFT_EYE = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (133, 155, 154, 153, 145, 144, 163, 7, 33))
MP_RIGHT_EYE = ((362, 398, 384, 385, 386, 387, 388, 466, 263), (263, 249, 390, 373, 374, 380, 381, 382, 362))
MP_OUTER_LIP = ((61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291), (291, 375, 321, 405, 314, 17, 84, 181, 91, 146, 61))
MP_INNER_LIP = ((78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308), (308, 324, 318, 402, 317, 14, 87, 178, 88, 95, 78))
MP_JAW = (127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356)
MP_PLAIN = (
    70, 63, 105, 66, 107, 55, 65, 52, 53, 46,  # left brow
    336, 296, 334, 293, 300, 276, 283, 282, 295, 285,  # right brow
    168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 129, 358, 64, 294,  # nose
    468, 473,  # iris centres
    50, 280, 101, 330, 36, 266, 205, 425, 187, 411, 147, 376, 123, 352, 117, 346, 118, 347, 119, 348, 100, 329,  # cheeks
)
MEDIAPIPE_POINTS = 478
LP_POINTS = 203

# layout (point count) -> (left-eye indices, right-eye indices, mouth-corner indices)
EYE_MOUTH_INDICES: dict[int, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {
    203: ((0, 6, 12, 18), (24, 30, 36, 42), (48, 66)),
    106: ((33, 35, 40, 39), (87, 89, 94, 93), (52, 61)),
    68: ((36, 39), (42, 45), (48, 54)),
    5: ((0,), (1,), (3, 4)),
}


def eye_mouth_points(points: Tensor, use_lip: bool = True) -> Tensor:
    """The two points that fix a face's crop frame (official ``parse_pt2_from_pt_x``).

    Args:
        points: (B, N, 2) landmarks of one of the layouts of :data:`EYE_MOUTH_INDICES`.
        use_lip: True: ``[eye centre, mouth centre]``; False: ``[left eye, left eye + (right − left)
            turned by +90°]``, so that in both cases the second point lies "below" the first.

    Returns:
        (B, 2, 2) in the dtype of ``points``.
    """
    n = points.shape[-2]
    if n not in EYE_MOUTH_INDICES:
        raise ValueError(f"landmark sets of {n} points are not supported; expected one of "
                         f"{sorted(EYE_MOUTH_INDICES)} (map MediaPipe's 478 points with mediapipe_to_203)")
    left_idx, right_idx, mouth_idx = EYE_MOUTH_INDICES[n]
    left = points[..., list(left_idx), :].mean(-2)
    right = points[..., list(right_idx), :].mean(-2)
    if use_lip:
        return torch.stack(((left + right) / 2, points[..., list(mouth_idx), :].mean(-2)), dim=-2)
    v = right - left
    return torch.stack((left, torch.stack((left[..., 0] - v[..., 1], left[..., 1] + v[..., 0]), -1)), dim=-2)


def resample_polyline(points: Tensor, segments: int) -> Tensor:
    """``segments + 1`` points equally spaced in arc length along an open polyline (ends kept).

    Args:
        points: (B, M, 2) polyline vertices.

    Returns:
        (B, segments + 1, 2).
    """
    seg = (points[:, 1:] - points[:, :-1]).norm(dim=-1)  # (B, M-1)
    arc = torch.cat((torch.zeros_like(seg[:, :1]), seg.cumsum(-1)), dim=-1)  # (B, M)
    target = torch.linspace(0, 1, segments + 1, dtype=points.dtype, device=points.device) * arc[:, -1:]
    # segment index j with arc[j] <= t <= arc[j+1]; the last target falls into the last segment
    j = (torch.searchsorted(arc.contiguous(), target.contiguous(), right=True) - 1).clamp(0, points.shape[1] - 2)
    a0, a1 = arc.gather(1, j), arc.gather(1, j + 1)
    w = torch.where(a1 > a0, (target - a0) / (a1 - a0).clamp_min(1e-300), torch.zeros_like(target))
    p0 = points.gather(1, j[..., None].expand(-1, -1, 2))
    p1 = points.gather(1, (j + 1)[..., None].expand(-1, -1, 2))
    return p0 + (p1 - p0) * w[..., None]


def _ring(points: Tensor, contours: tuple[tuple[int, ...], tuple[int, ...]], half: int) -> Tensor:
    """A closed ring of ``2·half`` points: upper contour corner to corner, then the lower one back."""
    upper = resample_polyline(points[:, list(contours[0])], half)
    lower = resample_polyline(points[:, list(contours[1])], half)
    return torch.cat((upper, lower[:, 1:-1]), dim=1)


def mediapipe_to_203(points: Tensor) -> Tensor:
    """MediaPipe FaceLandmarker points -> the 203-point layout (table in the module docstring).

    Args:
        points: (B, 478, 2) pixel coordinates (``x_norm·W``, ``y_norm·H``).

    Returns:
        (B, 203, 2), computed in float64 and returned in the input dtype.
    """
    if points.shape[-2:] != (MEDIAPIPE_POINTS, 2):
        raise ValueError(f"expected (B, {MEDIAPIPE_POINTS}, 2) MediaPipe landmarks, got {tuple(points.shape)}")
    p = points.double()
    out = torch.cat((
        _ring(p, MP_LEFT_EYE, 12),
        _ring(p, MP_RIGHT_EYE, 12),
        _ring(p, MP_OUTER_LIP, 18),
        _ring(p, MP_INNER_LIP, 12),
        resample_polyline(p[:, list(MP_JAW)], 32),
        p[:, list(MP_PLAIN)],
    ), dim=1)
    return out.to(points.dtype)
