"""Driven keypoints: one source's motion re-posed by N driving frames, batched over the frames.

The steps and their order follow the official pipeline (``LivePortraitPipeline.execute`` for a
source image): :func:`driven_motion` (relative or absolute motion, animation region),
:func:`driven_keypoints` (adds the expression-friendly rescaling), then stitching/retargeting
(``retargeting.py``) and finally :func:`apply_driving_multiplier`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import ConvexHull, QhullError
from torch import Tensor

from .pose import NUM_KEYPOINTS, transform_keypoints, zero_tz
from .sequence import MotionSequence

REGIONS = ("all", "exp", "pose", "lip", "eyes")
DRIVING_OPTIONS = ("expression-friendly", "pose-friendly")
LIP_KEYPOINTS = (6, 12, 14, 17, 19, 20)
EYE_KEYPOINTS = (11, 13, 15, 16, 18)
# Absolute motion, region "all"/"exp": keypoint -> axes that take the driving expression.
ABSOLUTE_EXP_AXES: dict[int, tuple[int, ...]] = {
    **{k: (0, 1, 2) for k in (1, 2, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)},
    3: (1,),
    4: (1,),
    5: (2,),
    8: (2,),
    9: (1, 2),
}
# Expression offset of a neutral closed mouth (official ``lip_array.pkl``), one row per keypoint.
LIP_ARRAY: tuple[tuple[float, float, float], ...] = (
    (-9.4524e-05, 0.00024222, -4.009739999999999e-05),
    (0.000208596, 0.000468054, 1.2746399999999999e-05),
    (-0.000124602, 0.00032497200000000003, 4.425e-06),
    (0.000119652, -0.000456624, 5.40852e-05),
    (-0.000265254, -7.459799999999999e-05, -1.5527999999999998e-05),
    (-3.3488399999999996e-05, -0.000183036, -3.4940399999999998e-06),
    (-4.7542799999999996e-07, -4.5246599999999997e-07, 1.59498e-06),
    (-0.000541296, 0.0026328000000000002, 7.2485999999999995e-06),
    (-1.1694e-05, 5.00502e-06, 9.9888e-06),
    (8.028599999999999e-07, 5.1913199999999995e-06, -0.00040934399999999996),
    (0.000166878, -1.9815000000000003e-05, -8.854799999999999e-05),
    (-1.51536e-05, 8.2506e-05, 5.94012e-06),
    (-2.61054e-07, 2.7591e-06, 2.21028e-06),
    (-6.6282e-05, -6.828599999999999e-05, -3.4531799999999997e-06),
    (-0.00083262, -0.00179592, -2.59176e-06),
    (6.9714e-06, 3.65514e-05, -1.8977999999999999e-06),
    (-4.808759999999999e-06, 7.1148e-06, -1.03236e-05),
    (-0.0006368400000000001, -0.0011661, 5.62314e-05),
    (0.00028329, -1.4565599999999998e-05, 1.09746e-05),
    (-4.16022e-06, -0.0150906, -0.0025494),
    (0.000222474, 0.00562788, 0.0027264599999999996),
)


@dataclass(frozen=True)
class DrivingOptions:
    """How driving motion is applied; defaults are the official CLI's (``inference.py``).

    relative: motion relative to the anchor driving frame (else the driving pose is copied).
    driving_option: "expression-friendly" rescales relative video motion to the source's
        keypoint spread; "pose-friendly" leaves it as is.
    multiplier: final strength, ``x_s + (x − x_s) · multiplier`` (1 = as driven, 0 = source).
    region: which motion is transferred: "all", "exp", "pose", "lip" or "eyes".
    stitching: apply the stitching MLP.
    eye_retargeting / lip_retargeting: drive eyes / lips by open ratios through the retargeting MLPs.
    normalize_lip: close the source mouth first when its lip-open ratio is >= 0.03 (relative only).
    """

    relative: bool = True
    driving_option: str = "expression-friendly"
    multiplier: float = 1.0
    region: str = "all"
    stitching: bool = True
    eye_retargeting: bool = False
    lip_retargeting: bool = False
    normalize_lip: bool = False

    def __post_init__(self) -> None:
        for name in ("relative", "stitching", "eye_retargeting", "lip_retargeting", "normalize_lip"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise ValueError(f"DrivingOptions.{name} must be True or False, got {value!r}")
        if self.driving_option not in DRIVING_OPTIONS:
            raise ValueError(
                f"DrivingOptions.driving_option must be one of {DRIVING_OPTIONS}, got {self.driving_option!r}"
            )
        if self.region not in REGIONS:
            raise ValueError(f"DrivingOptions.region must be one of {REGIONS}, got {self.region!r}")
        m = self.multiplier
        if isinstance(m, bool) or not isinstance(m, (int, float)) or not math.isfinite(m):
            raise ValueError(f"DrivingOptions.multiplier must be a finite number, got {m!r}")


def lip_array(like: Tensor) -> Tensor:
    """(1, 21, 3) neutral-mouth expression offset, cast to ``like``'s dtype and device."""
    return torch.tensor(LIP_ARRAY, dtype=torch.float64).to(device=like.device, dtype=like.dtype)[None]


def expression_mask(region: str, relative: bool, device: torch.device | str | None = None) -> Tensor:
    """(21, 3) bool: the expression entries that a region takes from the driving frames.

    Relative "all"/"exp" drives every entry; absolute "all"/"exp" only the official subset
    (:data:`ABSOLUTE_EXP_AXES`); "lip" / "eyes" drive whole keypoints of their index list; "pose" none.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    mask = torch.zeros(NUM_KEYPOINTS, 3, dtype=torch.bool, device=device)
    if region in ("all", "exp") and relative:
        mask[:] = True
    elif region in ("all", "exp"):
        for k, axes in ABSOLUTE_EXP_AXES.items():
            mask[k, list(axes)] = True
    elif region != "pose":
        mask[list(LIP_KEYPOINTS if region == "lip" else EYE_KEYPOINTS)] = True
    return mask


def source_keypoints(source: MotionSequence) -> Tensor:
    """(1, 21, 3) posed source keypoints ``x_s``: stored ones, else computed from the canonical ``kp``."""
    _check_source(source)
    if source.x_s is not None:
        return source.x_s
    return transform_keypoints(source.kp, source.R, source.exp, source.scale, source.t)


def driven_motion(
    source: MotionSequence,
    driving: MotionSequence,
    options: DrivingOptions,
    *,
    driving_is_image: bool = False,
    anchor: int = 0,
) -> MotionSequence:
    """New pose and expression for each driving frame (t_z zeroed), on the source's canonical keypoints.

    Relative motion: ``R = R_d,i · R_aᵀ · R_s``, ``δ = δ_s + (δ_d,i − δ_a)``, ``s = s_s · s_d,i / s_a``,
    ``t = t_s + (t_d,i − t_a)``, with ``a`` the anchor frame. With ``driving_is_image`` every frame is an
    independent driving image: it is its own anchor and ``δ_a`` is :func:`lip_array` (0 for region "eyes",
    as in the official code). Absolute motion copies ``R_d,i``, ``t_d,i`` and the driving expression
    entries of :func:`expression_mask`, and keeps the source scale. Parts outside ``options.region``
    keep the source values.

    Args:
        source: one frame with R, exp, scale, t and canonical kp.
        driving: N frames with R, exp, scale, t.

    Returns:
        N frames: R (N, 3, 3), exp (N, 21, 3), scale (N, 1), t (N, 3) with t_z = 0, kp (N, 21, 3)
        (the source's), fps of ``driving``.
    """
    _check_source(source)
    n, region = len(driving), options.region
    pose_on = region in ("all", "pose")
    if options.relative:
        R_a, exp_a, scale_a, t_a = _anchor(driving, region, driving_is_image, anchor)
        R = driving.R @ R_a.transpose(1, 2) @ source.R if pose_on else source.R
        exp = source.exp + (driving.exp - exp_a)
        scale = source.scale * (driving.scale / scale_a) if region == "all" else source.scale
        t = source.t + (driving.t - t_a) if pose_on else source.t
    else:
        R = driving.R if pose_on else source.R
        exp = driving.exp
        scale = source.scale
        t = driving.t if pose_on else source.t
    exp = torch.where(expression_mask(region, options.relative, source.exp.device), exp, source.exp)
    return MotionSequence(
        R=R.expand(n, 3, 3),
        exp=exp.expand(n, NUM_KEYPOINTS, 3),
        scale=scale.expand(n, 1),
        t=zero_tz(t.expand(n, 3)),
        kp=source.kp.expand(n, NUM_KEYPOINTS, 3),
        fps=driving.fps,
    )


def motion_multiplier(x_s: Tensor, x_0: Tensor) -> float:
    """Expression-friendly scale ``sqrt(V(x_s)) / sqrt(V(x_0))``, V = convex-hull volume in float64.

    Args:
        x_s: (1, 21, 3) source keypoints.
        x_0: (1, 21, 3) driven keypoints of the anchor frame.
    """
    volumes = []
    for x in (x_s, x_0):
        try:
            volumes.append(ConvexHull(x.detach().reshape(-1, 3).cpu().double().numpy()).volume)
        except QhullError as err:
            raise ValueError("keypoints span no volume; use driving_option='pose-friendly'") from err
    return float(np.sqrt(volumes[0]) / np.sqrt(volumes[1]))


def expression_friendly(x: Tensor, x_s: Tensor, anchor: int = 0) -> Tensor:
    """Rescale driven keypoints about the anchor frame: ``(x − x_a) · m + x_s``, m from :func:`motion_multiplier`.

    Args:
        x: (N, 21, 3) driven keypoints.
        x_s: (1, 21, 3) source keypoints.

    Returns:
        (N, 21, 3).
    """
    x_a = x[_anchor_slice(anchor, x.shape[0])]
    return (x - x_a) * motion_multiplier(x_s, x_a) + x_s


def driven_keypoints(
    source: MotionSequence,
    driving: MotionSequence,
    options: DrivingOptions,
    *,
    driving_is_image: bool = False,
    anchor: int = 0,
) -> Tensor:
    """(N, 21, 3) driven keypoints before stitching/retargeting: :func:`driven_motion` posed on the
    source's canonical keypoints, then :func:`expression_friendly` for relative video driving."""
    motion = driven_motion(source, driving, options, driving_is_image=driving_is_image, anchor=anchor)
    x = transform_keypoints(motion.kp, motion.R, motion.exp, motion.scale, motion.t)
    if options.relative and options.driving_option == "expression-friendly" and not driving_is_image:
        x = expression_friendly(x, source_keypoints(source), anchor)
    return x


def apply_driving_multiplier(x_s: Tensor, x: Tensor, multiplier: float) -> Tensor:
    """Final strength ``x_s + (x − x_s) · multiplier``; (1 or N, 21, 3), (N, 21, 3) -> (N, 21, 3)."""
    return x_s + (x - x_s) * multiplier


def _check_source(source: MotionSequence) -> None:
    if len(source) != 1 or source.kp is None:
        raise ValueError(
            f"the source must be one frame with canonical keypoints (kp); got {len(source)} frame(s), "
            f"kp {'missing' if source.kp is None else 'present'}"
        )


def _anchor_slice(anchor: int, n: int) -> slice:
    if not -n <= anchor < n:
        raise ValueError(f"anchor frame {anchor} is out of range for {n} driving frame(s)")
    anchor %= n
    return slice(anchor, anchor + 1)


def _anchor(
    driving: MotionSequence, region: str, driving_is_image: bool, anchor: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Anchor (R, exp, scale, t) that relative motion is measured against."""
    if driving_is_image:
        exp_a = torch.zeros_like(driving.exp[:1]) if region == "eyes" else lip_array(driving.exp)
        return driving.R, exp_a, driving.scale, driving.t
    a = _anchor_slice(anchor, len(driving))
    return driving.R[a], driving.exp[a], driving.scale[a], driving.t[a]
