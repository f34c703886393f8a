"""Eye and lip open ratios from 203-point landmarks, shaped for ``liveportrait_core.motion.retargeting``.

Official ``calc_eye_close_ratio`` / ``calc_lip_close_ratio`` (larger means more open, despite the
names). Scale- and rotation-invariant, so landmarks in original or crop pixels give the same values.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .landmark_layout import LP_POINTS

_EPS = 1e-6


def _distance(points: Tensor, i: int, j: int) -> Tensor:
    return (points[:, i] - points[:, j]).norm(dim=-1)


def _check(points: Tensor) -> Tensor:
    if points.ndim != 3 or points.shape[1:] != (LP_POINTS, 2):
        raise ValueError(f"expected (N, {LP_POINTS}, 2) landmarks, got {tuple(points.shape)}")
    return points.double()


def eye_open_ratio(landmarks: Tensor) -> Tensor:
    """(N, 203, 2) -> (N, 2) ``[|p6 − p18| / |p0 − p12|, |p30 − p42| / |p24 − p36|]`` (image-left, image-right eye).

    Computed in float64, returned in float32 (the retargeting modules' ``eye_ratio`` (N, 2)).
    """
    p = _check(landmarks)
    left = _distance(p, 6, 18) / (_distance(p, 0, 12) + _EPS)
    right = _distance(p, 30, 42) / (_distance(p, 24, 36) + _EPS)
    return torch.stack((left, right), dim=1).float()


def lip_open_ratio(landmarks: Tensor) -> Tensor:
    """(N, 203, 2) -> (N, 1) ``|p90 − p102| / |p48 − p66|`` (inner-lip opening over mouth width), float32."""
    p = _check(landmarks)
    return (_distance(p, 90, 102) / (_distance(p, 48, 66) + _EPS))[:, None].float()
