"""Head pose and keypoint transform: bin logits -> degrees -> rotation matrices -> driven keypoints.

Conventions of the official code: keypoints are row vectors multiplied from the right
(``kp @ R``) with ``R = (Rz(roll) · Ry(yaw) · Rx(pitch))ᵀ``; angles are in degrees; the
z translation is never applied.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .sequence import MotionSequence

NUM_KEYPOINTS = 21
POSE_BINS = 66
RAW_KEYS = ("pitch", "yaw", "roll", "t", "exp", "scale", "kp")


def headpose_to_degrees(logits: Tensor) -> Tensor:
    """Expected angle of the 66 pose bins: ``3 · Σ softmax(logits)_i · i − 97.5``.

    Args:
        logits: (B, 66) bin logits of one angle.

    Returns:
        (B,) degrees.
    """
    if logits.ndim != 2 or logits.shape[1] != POSE_BINS:
        raise ValueError(f"head-pose logits must have shape (B, {POSE_BINS}), got {tuple(logits.shape)}")
    bins = torch.arange(POSE_BINS, device=logits.device, dtype=logits.dtype)
    return (F.softmax(logits, dim=1) * bins).sum(dim=1) * 3 - 97.5


def rotation_matrix(pitch: Tensor, yaw: Tensor, roll: Tensor) -> Tensor:
    """Rotation ``(Rz(roll) · Ry(yaw) · Rx(pitch))ᵀ`` for row-vector keypoints (``kp @ R``).

    Args:
        pitch, yaw, roll: (B,) or (B, 1) angles in degrees.

    Returns:
        (B, 3, 3) rotation matrices.
    """
    x, y, z = (a.reshape(-1) / 180 * math.pi for a in (pitch, yaw, roll))
    one, zero = torch.ones_like(x), torch.zeros_like(x)

    def matrix(*rows: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)

    rot_x = matrix((one, zero, zero), (zero, x.cos(), -x.sin()), (zero, x.sin(), x.cos()))
    rot_y = matrix((y.cos(), zero, y.sin()), (zero, one, zero), (-y.sin(), zero, y.cos()))
    rot_z = matrix((z.cos(), -z.sin(), zero), (z.sin(), z.cos(), zero), (zero, zero, one))
    return (rot_z @ rot_y @ rot_x).transpose(1, 2)


def rotation_to_degrees(R: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Inverse of :func:`rotation_matrix`: (pitch, yaw, roll) in degrees.

    Unique for |yaw| < 90°; pitch and roll come back in (−180°, 180°].

    Args:
        R: (B, 3, 3) rotation matrices as built by :func:`rotation_matrix`.

    Returns:
        pitch, yaw, roll, each (B,).
    """
    pitch = torch.atan2(R[:, 1, 2], R[:, 2, 2])
    yaw = torch.atan2(-R[:, 0, 2], torch.hypot(R[:, 1, 2], R[:, 2, 2]))
    roll = torch.atan2(R[:, 0, 1], R[:, 0, 0])
    return torch.rad2deg(pitch), torch.rad2deg(yaw), torch.rad2deg(roll)


def zero_tz(t: Tensor) -> Tensor:
    """(B, 3) translation with its z component set to 0 (tz is never applied)."""
    return torch.cat((t[:, :2], torch.zeros_like(t[:, 2:])), dim=1)


def transform_keypoints(kp: Tensor, R: Tensor, exp: Tensor, scale: Tensor, t: Tensor) -> Tensor:
    """Posed keypoints ``scale · (kp @ R + exp) + (tx, ty, 0)``.

    Leading dims broadcast, so one canonical ``kp`` (1, 21, 3) can be posed for N frames.

    Args:
        kp: (B, 21, 3) canonical keypoints.
        R: (B, 3, 3) rotations.
        exp: (B, 21, 3) expression deltas.
        scale: (B, 1) scales.
        t: (B, 3) translations; tz is ignored.

    Returns:
        (B, 21, 3) keypoints.
    """
    return scale[:, :, None] * (kp @ R + exp) + zero_tz(t)[:, None, :]


@dataclass
class KeypointInfo:
    """Motion-extractor output in usable form (the official ``get_kp_info`` plus the rotation)."""

    pitch: Tensor  # (B, 1) degrees
    yaw: Tensor  # (B, 1) degrees
    roll: Tensor  # (B, 1) degrees
    R: Tensor  # (B, 3, 3)
    exp: Tensor  # (B, 21, 3)
    kp: Tensor  # (B, 21, 3) canonical keypoints
    scale: Tensor  # (B, 1)
    t: Tensor  # (B, 3)

    @classmethod
    def from_raw(cls, raw: Mapping[str, Tensor]) -> "KeypointInfo":
        """From the motion extractor's dict: pitch/yaw/roll (B, 66), t (B, 3), exp (B, 63), scale (B, 1), kp (B, 63)."""
        missing = [k for k in RAW_KEYS if k not in raw]
        if missing:
            raise ValueError(f"motion-extractor output lacks {missing}; expected keys {list(RAW_KEYS)}")
        pitch, yaw, roll = (headpose_to_degrees(raw[k])[:, None] for k in ("pitch", "yaw", "roll"))
        b = raw["kp"].shape[0]
        return cls(
            pitch=pitch,
            yaw=yaw,
            roll=roll,
            R=rotation_matrix(pitch, yaw, roll),
            exp=raw["exp"].reshape(b, NUM_KEYPOINTS, 3),
            kp=raw["kp"].reshape(b, NUM_KEYPOINTS, 3),
            scale=raw["scale"],
            t=raw["t"],
        )

    def transformed(self) -> Tensor:
        """(B, 21, 3) posed keypoints ``x = scale · (kp @ R + exp) + (tx, ty, 0)``."""
        return transform_keypoints(self.kp, self.R, self.exp, self.scale, self.t)

    def to_motion(self, fps: float = 25.0) -> MotionSequence:
        """The B frames as a :class:`MotionSequence`, with canonical ``kp`` and posed ``x_s``."""
        return MotionSequence(
            R=self.R, exp=self.exp, scale=self.scale, t=self.t, kp=self.kp, x_s=self.transformed(), fps=fps
        )
