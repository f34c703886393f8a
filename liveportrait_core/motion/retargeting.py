"""Stitching and eye/lip retargeting with the S MLPs, and the official "Algorithm 1" composition.

Every function is batched over N driving frames; the source keypoints ``x_s`` (1, 21, 3) broadcast.
Ratios are open ratios (larger = more open) given as tensors; computing them from landmarks is
done elsewhere.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..networks.stitching import StitchingRetargeting
from .driving import DrivingOptions, apply_driving_multiplier, driven_keypoints, source_keypoints
from .pose import NUM_KEYPOINTS
from .sequence import MotionSequence

LIP_NORMALIZE_THRESHOLD = 0.03  # source lip-open ratio from which lip normalisation closes the mouth


def _mlp_input(x_s: Tensor, other: Tensor) -> Tensor:
    """(N, 63 + k): ``[x_s.flat, other.flat]`` per frame, ``other`` cast to ``x_s``'s dtype and device."""
    n = other.shape[0]
    return torch.cat((x_s.reshape(x_s.shape[0], -1).expand(n, -1), other.reshape(n, -1).to(x_s)), dim=1)


def stitching_delta(module: StitchingRetargeting, x_s: Tensor, x_d: Tensor) -> Tensor:
    """Raw stitching-MLP output: (1, 21, 3), (N, 21, 3) -> (N, 65) = 63 keypoint deltas + (tx, ty)."""
    return module.stitching(_mlp_input(x_s, x_d))


def stitch(module: StitchingRetargeting, x_s: Tensor, x_d: Tensor) -> Tensor:
    """Stitched keypoints: ``x_d`` plus the 63 deltas, plus (tx, ty) on x and y of every keypoint.

    Args:
        x_s: (1, 21, 3) source keypoints.
        x_d: (N, 21, 3) driven keypoints.

    Returns:
        (N, 21, 3).
    """
    delta = stitching_delta(module, x_s, x_d)
    k = 3 * NUM_KEYPOINTS
    x = x_d + delta[:, :k].reshape(x_d.shape)
    return torch.cat((x[..., :2] + delta[:, None, k : k + 2], x[..., 2:]), dim=-1)


def eye_retargeting_delta(module: StitchingRetargeting, x_s: Tensor, eye_ratio: Tensor) -> Tensor:
    """Eye-MLP keypoint deltas: (1, 21, 3), (N, 3) combined eye ratio -> (N, 21, 3)."""
    return module.eye(_mlp_input(x_s, eye_ratio)).reshape(-1, NUM_KEYPOINTS, 3)


def lip_retargeting_delta(module: StitchingRetargeting, x_s: Tensor, lip_ratio: Tensor) -> Tensor:
    """Lip-MLP keypoint deltas: (1, 21, 3), (N, 2) combined lip ratio -> (N, 21, 3)."""
    return module.lip(_mlp_input(x_s, lip_ratio)).reshape(-1, NUM_KEYPOINTS, 3)


def combined_eye_ratio(source_eye_ratio: Tensor, driving_eye_ratio: Tensor) -> Tensor:
    """Eye-MLP condition ``[src left, src right, driving]`` per frame.

    As in the official ``calc_combined_eye_ratio``, one driving value serves both eyes: the first
    (left-eye) column of ``driving_eye_ratio``.

    Args:
        source_eye_ratio: (1, 2) source (left, right) eye-open ratios.
        driving_eye_ratio: (N, 2) per-frame (left, right) ratios, or (N, 1).

    Returns:
        (N, 3) in the source ratio's dtype and device.
    """
    n = driving_eye_ratio.shape[0]
    return torch.cat((source_eye_ratio.expand(n, 2), driving_eye_ratio[:, :1].to(source_eye_ratio)), dim=1)


def combined_lip_ratio(source_lip_ratio: Tensor, driving_lip_ratio: Tensor) -> Tensor:
    """Lip-MLP condition ``[src lip, driving lip]`` per frame: (1, 1), (N, 1) -> (N, 2)."""
    n = driving_lip_ratio.shape[0]
    return torch.cat((source_lip_ratio.expand(n, 1), driving_lip_ratio.reshape(n, 1).to(source_lip_ratio)), dim=1)


def lip_normalization_delta(module: StitchingRetargeting, x_s: Tensor, source_lip_ratio: Tensor) -> Tensor:
    """Delta that closes the source mouth: the lip MLP with driving lip ratio 0, applied only when the
    source lip-open ratio is >= :data:`LIP_NORMALIZE_THRESHOLD` (zeros otherwise).

    Args:
        x_s: (1, 21, 3) source keypoints.
        source_lip_ratio: (1, 1) source lip-open ratio.

    Returns:
        (1, 21, 3).
    """
    ratio = combined_lip_ratio(source_lip_ratio, torch.zeros_like(source_lip_ratio)).to(x_s)
    delta = lip_retargeting_delta(module, x_s, ratio)
    return torch.where(ratio[:, :1, None] >= LIP_NORMALIZE_THRESHOLD, delta, torch.zeros_like(delta))


def unstitched_keypoints(
    module: StitchingRetargeting | None,
    x_s: Tensor,
    x_d: Tensor,
    options: DrivingOptions,
    *,
    source_eye_ratio: Tensor | None = None,
    source_lip_ratio: Tensor | None = None,
    driving_eye_ratio: Tensor | None = None,
    driving_lip_ratio: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """:func:`retarget_keypoints` up to stitching, for callers that stitch in a separate step.

    Returns the keypoints to stitch (N, 21, 3) and the lip-normalisation delta (1, 21, 3) that is added
    after stitching, or None when lip normalisation does not apply. Arguments as in :func:`retarget_keypoints`.
    """
    retargeting = options.eye_retargeting or options.lip_retargeting
    normalize_lip = options.normalize_lip and options.relative and not retargeting
    if module is None and (options.stitching or retargeting or normalize_lip):
        raise ValueError("stitching, eye/lip retargeting and lip normalisation need the stitching_retargeting module")
    if not retargeting:
        if not normalize_lip:
            return x_d, None
        return x_d, lip_normalization_delta(module, x_s, _required(source_lip_ratio, "source_lip_ratio", "normalize_lip"))
    x = x_s if options.relative else x_d
    if options.eye_retargeting:
        ratio = combined_eye_ratio(
            _required(source_eye_ratio, "source_eye_ratio", "eye_retargeting"),
            _required(driving_eye_ratio, "driving_eye_ratio", "eye_retargeting"),
        )
        x = x + eye_retargeting_delta(module, x_s, ratio)
    if options.lip_retargeting:
        ratio = combined_lip_ratio(
            _required(source_lip_ratio, "source_lip_ratio", "lip_retargeting"),
            _required(driving_lip_ratio, "driving_lip_ratio", "lip_retargeting"),
        )
        x = x + lip_retargeting_delta(module, x_s, ratio)
    return x, None


def retarget_keypoints(
    module: StitchingRetargeting | None,
    x_s: Tensor,
    x_d: Tensor,
    options: DrivingOptions,
    *,
    source_eye_ratio: Tensor | None = None,
    source_lip_ratio: Tensor | None = None,
    driving_eye_ratio: Tensor | None = None,
    driving_lip_ratio: Tensor | None = None,
) -> Tensor:
    """The official "Algorithm 1" step after driving (before the driving multiplier).

    * no stitching, no retargeting: ``x_d`` (+ lip-normalisation delta);
    * stitching only: ``stitch(x_s, x_d)`` (+ lip-normalisation delta);
    * eye and/or lip retargeting: ``base + eye delta + lip delta`` with ``base = x_s`` for relative and
      ``x_d`` for absolute motion, then stitched if stitching is on.

    Lip normalisation needs ``options.normalize_lip`` and relative motion, and applies only without
    retargeting.

    Args:
        x_s: (1, 21, 3) source keypoints.
        x_d: (N, 21, 3) driven keypoints.
        source_eye_ratio: (1, 2), needed for eye retargeting.
        source_lip_ratio: (1, 1), needed for lip retargeting and lip normalisation.
        driving_eye_ratio: (N, 2) or (N, 1), needed for eye retargeting.
        driving_lip_ratio: (N, 1), needed for lip retargeting.

    Returns:
        (N, 21, 3).
    """
    x, after_stitching = unstitched_keypoints(
        module, x_s, x_d, options, source_eye_ratio=source_eye_ratio, source_lip_ratio=source_lip_ratio,
        driving_eye_ratio=driving_eye_ratio, driving_lip_ratio=driving_lip_ratio,
    )
    if options.stitching:
        x = stitch(module, x_s, x)
    return x if after_stitching is None else x + after_stitching


def final_keypoints(x_s: Tensor, x: Tensor, multiplier: float, after_stitching: Tensor | None = None) -> Tensor:
    """The tail of :func:`animate_keypoints`: retargeted (and stitched) keypoints ``x`` plus the lip-normalisation
    delta of :func:`unstitched_keypoints` when it is still to add, then the driving multiplier; (N, 21, 3)."""
    return apply_driving_multiplier(x_s, x if after_stitching is None else x + after_stitching, multiplier)


def animate_keypoints(
    module: StitchingRetargeting | None,
    source: MotionSequence,
    driving: MotionSequence,
    options: DrivingOptions,
    *,
    driving_is_image: bool = False,
    anchor: int = 0,
) -> Tensor:
    """Final driving keypoints for the warping network, all N frames at once.

    :func:`~liveportrait_core.motion.driving.driven_keypoints`, then :func:`retarget_keypoints` (ratios from
    ``source.eye_ratio`` / ``source.lip_ratio`` and the driving sequence's), then :func:`final_keypoints`.

    Args:
        source: one frame with R, exp, scale, t, kp (and x_s, ratios when known).
        driving: N frames with R, exp, scale, t (and per-frame ratios when retargeting).

    Returns:
        (N, 21, 3).
    """
    x_s = source_keypoints(source)
    x_d = driven_keypoints(source, driving, options, driving_is_image=driving_is_image, anchor=anchor)
    x = retarget_keypoints(
        module,
        x_s,
        x_d,
        options,
        source_eye_ratio=source.eye_ratio,
        source_lip_ratio=source.lip_ratio,
        driving_eye_ratio=driving.eye_ratio,
        driving_lip_ratio=driving.lip_ratio,
    )
    return final_keypoints(x_s, x, options.multiplier)


def _required(value: Tensor | None, name: str, option: str) -> Tensor:
    if value is None:
        raise ValueError(f"{option} needs {name}, which was not given (compute the ratios from landmarks first)")
    return value
