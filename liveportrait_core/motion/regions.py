"""Region-wise editing of motions: take expression or pose from a reference, scale regions, neutralise.

Face regions are sets of the 21 implicit keypoints, the official ones of ``driving.py``:
"eyes" = :data:`~liveportrait_core.motion.driving.EYE_KEYPOINTS` (11, 13, 15, 16, 18), "lip" =
:data:`~liveportrait_core.motion.driving.LIP_KEYPOINTS` (6, 12, 14, 17, 19, 20) and "rest" = the other ten.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .driving import EYE_KEYPOINTS, LIP_KEYPOINTS
from .ops import broadcast_frames, frame_weights, lerp_frames, one_frame, recompose
from .pose import NUM_KEYPOINTS
from .rotations import interpolate_rotations
from .sequence import MotionSequence

REGION_KEYPOINTS: dict[str, tuple[int, ...]] = {
    "eyes": EYE_KEYPOINTS,
    "lip": LIP_KEYPOINTS,
    "rest": tuple(k for k in range(NUM_KEYPOINTS) if k not in EYE_KEYPOINTS + LIP_KEYPOINTS),
}
EXPRESSION_REGIONS = ("all", "eyes", "lip", "rest")
TRANSFER_REGIONS = ("all", "exp", "rotation", "eyes", "lip")


def keypoint_mask(region: str, device: torch.device | str | None = None) -> Tensor:
    """(21,) bool: the keypoints of an expression region ("all", "eyes", "lip" or "rest")."""
    if region not in EXPRESSION_REGIONS:
        raise ValueError(f"expression region must be one of {EXPRESSION_REGIONS}, got {region!r}")
    mask = torch.zeros(NUM_KEYPOINTS, dtype=torch.bool, device=device)
    mask[list(REGION_KEYPOINTS[region]) if region != "all" else slice(None)] = True
    return mask


def transfer_expression(target: MotionSequence, reference: MotionSequence, region: str = "exp",
                        ratio: Tensor | float = 1.0) -> MotionSequence:
    """Take the expression and/or head rotation of ``reference`` into ``target``, blended by ``ratio``.

    Regions: "all" (whole expression and rotation), "exp" (whole expression), "rotation", "eyes" /
    "lip" (the expression of those keypoints). Expression entries are mixed linearly, rotations on
    the geodesic; ratio 0 keeps ``target``, 1 copies ``reference`` (bit for bit), values beyond 1
    exaggerate. Scale, translation and everything outside the region stay ``target``'s.

    Args:
        target: N frames (or 1), e.g. a still source or a driven motion.
        reference: N frames or 1 (e.g. the motion of a reference photo).
        ratio: scalar or (N,) per-frame ratios.

    Returns:
        N frames.
    """
    if region not in TRANSFER_REGIONS:
        raise ValueError(f"transfer region must be one of {TRANSFER_REGIONS}, got {region!r}")
    n = max(len(target), len(reference))
    target, reference = broadcast_frames(target, n), broadcast_frames(reference, n)
    w = frame_weights(ratio, n, target.exp.device)
    exp, R = target.exp, target.R
    if region != "rotation":
        mask = keypoint_mask("all" if region == "exp" else region, exp.device)[None, :, None]
        exp = torch.where(mask, lerp_frames(exp, reference.exp.to(exp), w), exp)
    if region in ("all", "rotation"):
        R = interpolate_rotations(R, reference.R, w)
    return recompose(target, exp=exp, R=R)


def scale_regions(motion: MotionSequence, reference: MotionSequence | int = 0, *, pose: float = 1.0,
                  eyes: float = 1.0, lip: float = 1.0, rest: float = 1.0) -> MotionSequence:
    """Amplify or damp each region's motion relative to a reference.

    Each expression region becomes ``ref + k · (exp − ref)``; the head pose is scaled on the geodesic
    (``(R Rᵣᵀ)^k Rᵣ``) together with the translation ``tᵣ + k · (t − tᵣ)``. k = 1 leaves a part
    unchanged bit for bit, 0 freezes it at the reference, k > 1 exaggerates.

    Args:
        motion: N frames.
        reference: a frame index of ``motion`` (e.g. the driving anchor) or a one-frame motion
            (e.g. the source, or :func:`~liveportrait_core.motion.anchors.neutral_reference`).
        pose, eyes, lip, rest: the factors.

    Returns:
        N frames (scale, kp and ratios unchanged).
    """
    factors = {"eyes": eyes, "lip": lip, "rest": rest, "pose": pose}
    for name, k in factors.items():
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k):
            raise ValueError(f"region factor {name!r} must be a finite number, got {k!r}")
    n = len(motion)
    ref = broadcast_frames(one_frame(motion, reference), n)
    k = torch.ones(NUM_KEYPOINTS, dtype=motion.exp.dtype, device=motion.exp.device)
    for region in ("eyes", "lip", "rest"):
        k[list(REGION_KEYPOINTS[region])] = factors[region]
    exp = torch.lerp(ref.exp.to(motion.exp), motion.exp, k[None, :, None])
    w = frame_weights(float(pose), n, motion.R.device)
    return recompose(motion, exp=exp, R=interpolate_rotations(ref.R.to(motion.R), motion.R, w),
                     t=lerp_frames(ref.t.to(motion.t), motion.t, w))


def neutralize(motion: MotionSequence, region: str = "all") -> MotionSequence:
    """Zero the expression of every frame, on the whole face ("all") or one region ("eyes", "lip", "rest")."""
    mask = keypoint_mask(region, motion.exp.device)[None, :, None]
    return recompose(motion, exp=torch.where(mask, torch.zeros_like(motion.exp), motion.exp))
