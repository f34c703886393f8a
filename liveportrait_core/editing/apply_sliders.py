"""Applying slider states: edited motion and driving keypoints, batched over frames.

The official still-image path (:func:`slider_keypoints`), in order:

1. expression edits, additive: ``δ = δ_s + Σ offsets``;
2. ``x_d = mov_z · s · (kp @ R_d + δ) + t``, where ``R_d`` has the source's pitch/yaw/roll plus the
   relative degrees and ``t`` keeps its z component (the official quirk: ``x_s`` itself is built
   without t_z, so neutral sliders are not an identity; ``official_tz=False`` drops it);
3. ``+ eye delta + lip delta``: the eye/lip retargeting MLPs on the unedited ``x_s``, run only where
   the target ratio differs from the source ratio rounded to two decimals (as the app's sliders start);
4. stitching.

A slider at its neutral value adds nothing: its offset is exactly zero and an unchanged pose keeps
the rotation matrix bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..motion.driving import source_keypoints
from ..motion.ops import broadcast_frames, recompose
from ..motion.pose import NUM_KEYPOINTS, rotation_matrix, rotation_to_degrees, transform_keypoints
from ..motion.retargeting import combined_eye_ratio, combined_lip_ratio, eye_retargeting_delta, lip_retargeting_delta, stitch
from ..motion.sequence import MotionSequence
from ..networks.stitching import StitchingRetargeting
from .sliders import SLIDERS, ExpressionSliders


def _frame_count(motion: MotionSequence, sliders: ExpressionSliders) -> int:
    n, k = len(motion), sliders.frames()
    if k is None or k == n:
        return n
    if n == 1:
        return k
    raise ValueError(f"{k} per-frame slider values do not fit a motion of {n} frames (give 1 or {n})")


def expression_offset(sliders: ExpressionSliders, n: int, device: torch.device | str | None = None) -> Tensor:
    """Sum of the expression sliders' offsets, (n, 21, 3) float64 (exactly zero at neutral values)."""
    total = torch.zeros(n, NUM_KEYPOINTS, 3, dtype=torch.float64, device=device)
    for name, spec in SLIDERS.items():
        if spec.target == "exp":
            v = sliders.values(name, n, device)[:, None, None]
            total = total + v.clamp(min=0) * spec.basis(False).to(device) + v.clamp(max=0) * spec.basis(True).to(device)
    return total


def relative_rotation(R: Tensor, pitch: Tensor, yaw: Tensor, roll: Tensor) -> Tensor:
    """Rotations with degrees added to their pitch, yaw and roll (the official relative head-pose sliders).

    Frames whose three additions are all 0 keep ``R`` bit for bit.

    Args:
        R: (N, 3, 3) rotations (``kp @ R`` convention of :func:`~liveportrait_core.motion.pose.rotation_matrix`).
        pitch, yaw, roll: (N,) degrees to add.

    Returns:
        (N, 3, 3) in ``R``'s dtype.
    """
    p, y, r = rotation_to_degrees(R.double())
    turned = rotation_matrix(p + pitch, y + yaw, r + roll).to(R.dtype)
    unchanged = (pitch == 0) & (yaw == 0) & (roll == 0)
    return torch.where(unchanged[:, None, None], R, turned)


def slider_motion(motion: MotionSequence, sliders: ExpressionSliders) -> MotionSequence:
    """The pose, expression and scale edits of the sliders (steps 1–2 of the module docstring, without t).

    ``exp`` gets the expression offsets, ``R`` the relative degrees, ``scale`` is multiplied by
    ``mov_z``; ``t`` (with its z component), ``kp`` and the ratios are kept. The ratio targets act
    later, through :func:`slider_retargeting`.

    Args:
        motion: one frame (a still source) or N frames.
        sliders: single values, or per-frame values for N frames (a one-frame motion is repeated).

    Returns:
        N frames (``x_s`` recomputed without t_z when ``kp`` is known).
    """
    n = _frame_count(motion, sliders)
    motion = broadcast_frames(motion, n)
    device = motion.exp.device
    exp = motion.exp + expression_offset(sliders, n, device).to(motion.exp.dtype)
    R = relative_rotation(motion.R, *(sliders.values(k, n, device) for k in ("pitch", "yaw", "roll")))
    mov_z = sliders.values("mov_z", n, device).to(motion.scale.dtype)  # float32, as the official torch.tensor(mov_z)
    return recompose(motion, R=R, exp=exp, scale=mov_z[:, None] * motion.scale)


def posed_keypoints(motion: MotionSequence, official_tz: bool = True) -> Tensor:
    """``scale · (kp @ R + exp) + t`` per frame, (N, 21, 3).

    With ``official_tz`` the z translation is added to the z coordinates, as the official slider path
    does (everywhere else t_z is dropped); without it this is :func:`~liveportrait_core.motion.pose.transform_keypoints`.
    """
    if motion.kp is None:
        raise ValueError("posing keypoints needs the canonical keypoints (kp) of the motion")
    x = transform_keypoints(motion.kp, motion.R, motion.exp, motion.scale, motion.t)
    if not official_tz:
        return x
    return x + torch.cat((torch.zeros_like(motion.t[:, :2]), motion.t[:, 2:]), dim=1)[:, None, :]


def frame_keypoints(source: MotionSequence) -> Tensor:
    """``x_s`` of the source: (1, 21, 3) of a still (see :func:`~liveportrait_core.motion.driving.source_keypoints`), or (N, 21, 3)
    of N source-video frames, each its own source."""
    if len(source) == 1:
        return source_keypoints(source)
    if source.x_s is None:
        raise ValueError(f"editing {len(source)} source frames needs each frame's keypoints (x_s)")
    return source.x_s


@dataclass(frozen=True)
class SliderRetargeting:
    """Eye/lip retargeting of the ratio targets, per frame."""

    eye_delta: Tensor  # (N, 21, 3), zero where not applied
    lip_delta: Tensor  # (N, 21, 3), zero where not applied
    eye_ratio: Tensor  # (N, 3) eye-MLP condition [source left, source right, target], NaN where not applied
    lip_ratio: Tensor  # (N, 2) lip-MLP condition [source, target], NaN where not applied
    eye_applied: Tensor  # (N,) bool
    lip_applied: Tensor  # (N,) bool


def _retarget(module: StitchingRetargeting | None, x_s: Tensor, source_ratio: Tensor | None, target: Tensor | None,
              which: str, n: int) -> tuple[Tensor, Tensor, Tensor]:
    """(delta (n, 21, 3), MLP condition, applied (n,)) of one ratio target (None: off)."""
    if target is None:
        width = 3 if which == "eye" else 2
        return (torch.zeros(n, NUM_KEYPOINTS, 3, dtype=x_s.dtype, device=x_s.device),
                torch.full((n, width), float("nan"), dtype=x_s.dtype, device=x_s.device),
                torch.zeros(n, dtype=torch.bool, device=x_s.device))
    if source_ratio is None:
        raise ValueError(f"a target {which} ratio needs the source's {which} ratio (source.{which}_ratio); "
                         "compute it from the source landmarks first")
    if module is None:
        raise ValueError(f"a target {which} ratio needs the stitching_retargeting module")
    rounded = [round(float(r), 2) for r in source_ratio.float().mean(dim=1)]  # the official slider start value, per frame
    applied = target != torch.tensor(rounded, dtype=target.dtype, device=target.device)
    if which == "eye":
        condition = combined_eye_ratio(source_ratio.to(x_s), target[:, None])
        delta = eye_retargeting_delta(module, x_s, condition)
    else:
        condition = combined_lip_ratio(source_ratio.to(x_s), target[:, None])
        delta = lip_retargeting_delta(module, x_s, condition)
    return (torch.where(applied[:, None, None], delta, torch.zeros_like(delta)),
            torch.where(applied[:, None], condition, torch.full_like(condition, float("nan"))), applied)


@torch.no_grad()
def slider_retargeting(module: StitchingRetargeting | None, source: MotionSequence, sliders: ExpressionSliders,
                       n: int = 1) -> SliderRetargeting:
    """Eye and lip deltas of the ratio targets for n frames (step 3 of the module docstring).

    A target acts where it differs from the source ratio rounded to 2 decimals (the official
    ``input_eye_ratio != source_eye_ratio``; the eye source ratio is the mean of both eyes).

    Args:
        module: the stitching/retargeting networks (needed when a target is set).
        source: the still source, one frame with ``x_s`` or ``kp``, and ``eye_ratio`` (1, 2) /
            ``lip_ratio`` (1, 1) when the matching target is set; or n source-video frames, each with
            its own ``x_s`` and ratios (each frame is compared with, and conditioned on, its own ratios).
    """
    x_s = frame_keypoints(source)

    def target(name: str) -> Tensor | None:
        return None if getattr(sliders, name) is None else sliders.values(name, n, x_s.device)

    eye = _retarget(module, x_s, source.eye_ratio, target("target_eye_ratio"), "eye", n)
    lip = _retarget(module, x_s, source.lip_ratio, target("target_lip_ratio"), "lip", n)
    return SliderRetargeting(eye_delta=eye[0], lip_delta=lip[0], eye_ratio=eye[1], lip_ratio=lip[1],
                             eye_applied=eye[2], lip_applied=lip[2])


@torch.no_grad()
def slider_keypoints(
    module: StitchingRetargeting | None,
    source: MotionSequence,
    sliders: ExpressionSliders,
    motion: MotionSequence | None = None,
    *,
    stitching: bool = True,
    official_tz: bool = True,
) -> Tensor:
    """Driving keypoints of a slider state: the official still-image path (module docstring, steps 1–4).

    Args:
        module: the stitching/retargeting networks (may be None without stitching and ratio targets).
        source: the still source (one frame with kp; x_s and ratios as needed), or N source-video frames
            (each with kp, x_s and its own ratios as needed; see :mod:`.video`).
        sliders: one state, or per-frame values.
        motion: the motion to edit, N frames (e.g. a driven motion); default the source itself.
        stitching: apply the stitching MLP (the app's default).
        official_tz: add t_z to the z coordinates as the official app does (see :func:`posed_keypoints`).

    Returns:
        (N, 21, 3) keypoints for the warping network, N from the motion or the per-frame values.
    """
    edited = slider_motion(source if motion is None else motion, sliders)
    retarget = slider_retargeting(module, source, sliders, len(edited))
    x = posed_keypoints(edited, official_tz) + retarget.eye_delta + retarget.lip_delta
    if not stitching:
        return x
    if module is None:
        raise ValueError("stitching needs the stitching_retargeting module")
    return stitch(module, frame_keypoints(source), x)


