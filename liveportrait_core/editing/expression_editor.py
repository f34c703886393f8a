"""Expression editor: slider states -> edited motion -> driving keypoints, batched over frames.

One table, :data:`SLIDERS`, holds every control with its range, neutral value and effect:

* the 17 sliders of the official Gradio "Retargeting Image" panel (LivePortrait ``app.py`` and
  ``GradioPipeline.execute_image_retargeting``), with the official ranges and formulas; ``official``
  names the official argument;
* the family known from ComfyUI-AdvancedLivePortrait's ExpressionEditor: ``blink``, ``pupil_x``,
  ``pupil_y``, ``aaa``, ``eee``, ``woo``, with that node's ranges and keypoint coefficients, but
  without its couplings to head rotation (its mouth and wink controls also turn the head), so each of
  them moves only its own keypoints. ``pupil_x`` acts like the official horizontal gaze, ``pupil_y``
  like the vertical gaze plus the brow terms of that node's half-blink, and ``aaa``/``eee``/``woo``
  like lip open / grin / pursing, over the ranges users of that node know.

Expression sliders add ``coefficient · v`` to entries ``exp[k, axis]`` (axis 0 = x, 1 = y, 2 = z);
eyebrow and horizontal gaze use other entries for negative values. :func:`slider_table` renders the
table; ``SLIDERS[name].keypoints`` lists what each slider moves.

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

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Union

import numpy as np
import torch
from torch import Tensor

from ..motion.driving import source_keypoints
from ..motion.ops import broadcast_frames, recompose
from ..motion.pose import NUM_KEYPOINTS, rotation_matrix, rotation_to_degrees, transform_keypoints
from ..motion.retargeting import combined_eye_ratio, combined_lip_ratio, eye_retargeting_delta, lip_retargeting_delta, stitch
from ..motion.sequence import MotionSequence
from ..networks.stitching import StitchingRetargeting

Terms = tuple[tuple[int, int, float], ...]  # (keypoint, axis, coefficient) of exp[keypoint, axis] += coefficient · v
SliderValue = Union[float, tuple[float, ...]]  # one value, or one per frame
TARGETS = ("exp", "pitch", "yaw", "roll", "scale", "eye_ratio", "lip_ratio")
SLIDERS_FORMAT = "liveportrait-sliders"
SLIDERS_FORMAT_VERSION = 1
_RANGE_SLACK = 1e-6  # relative: float32 copies of range ends (0.8 -> 0.80000001) still count as in range


@dataclass(frozen=True)
class SliderSpec:
    """One control: range, neutral value, what it acts on and, for expression sliders, its offsets."""

    label: str
    minimum: float
    maximum: float
    neutral: float | None  # None: off (the ratio targets: no retargeting)
    step: float  # the official (or the AdvancedLivePortrait) UI step
    target: str  # one of TARGETS
    official: str | None = None  # argument of the official execute_image_retargeting
    positive: Terms = ()  # offsets per unit for v > 0 (and v < 0 when ``negative`` is None)
    negative: Terms | None = None  # offsets per unit for v < 0, where they differ

    @property
    def keypoints(self) -> tuple[int, ...]:
        """Keypoints this slider moves: its offset entries, or all 21 for pose, scale and the MLP targets."""
        if self.target != "exp":
            return tuple(range(NUM_KEYPOINTS))
        return tuple(sorted({k for k, _, _ in self.positive + (self.negative or ())}))

    def basis(self, negative: bool) -> Tensor:
        """(21, 3) float64 offsets per unit of the slider, for v > 0 or v < 0."""
        terms = self.negative if negative and self.negative is not None else self.positive
        out = torch.zeros(NUM_KEYPOINTS, 3, dtype=torch.float64)
        for k, axis, coefficient in terms:
            out[k, axis] += coefficient
        return out


_GAZE_X_POS: Terms = ((11, 0, 0.0007), (15, 0, 0.001))
_GAZE_X_NEG: Terms = ((11, 0, 0.001), (15, 0, 0.0007))
# official vertical gaze: exp[11|15].y −= 0.001v plus a "blink" b = −v/2 (exp[11|15].y −= 0.001b, exp[13|16].y += 0.0003b)
_GAZE_Y: Terms = ((11, 1, -0.0005), (13, 1, -0.00015), (15, 1, -0.0005), (16, 1, -0.00015))
_LIP_OPEN: Terms = ((19, 1, 0.001), (19, 2, 0.0001), (17, 1, -0.0001))
_GRIN: Terms = ((20, 2, -0.001), (20, 1, -0.001), (14, 1, -0.001))
_PURSING: Terms = ((14, 1, 0.001), (3, 1, -0.0005), (7, 1, -0.0005), (17, 2, -0.0005))

SLIDERS: dict[str, SliderSpec] = {
    # official "Retargeting Image" panel, in the official argument order
    "target_eye_ratio": SliderSpec("target eyes-open ratio", 0.0, 0.8, None, 0.01, "eye_ratio", "input_eye_ratio"),
    "target_lip_ratio": SliderSpec("target lip-open ratio", 0.0, 0.8, None, 0.01, "lip_ratio", "input_lip_ratio"),
    "pitch": SliderSpec("relative pitch (degrees)", -15.0, 15.0, 0.0, 1.0, "pitch", "input_head_pitch_variation"),
    "yaw": SliderSpec("relative yaw (degrees)", -25.0, 25.0, 0.0, 1.0, "yaw", "input_head_yaw_variation"),
    "roll": SliderSpec("relative roll (degrees)", -15.0, 15.0, 0.0, 1.0, "roll", "input_head_roll_variation"),
    "mov_x": SliderSpec("x-axis movement", -0.19, 0.19, 0.0, 0.01, "exp", "mov_x", ((5, 0, -1.0),)),  # sign flipped
    "mov_y": SliderSpec("y-axis movement", -0.19, 0.19, 0.0, 0.01, "exp", "mov_y", ((5, 1, 1.0),)),
    "mov_z": SliderSpec("z-axis movement (scale)", 0.9, 1.2, 1.0, 0.01, "scale", "mov_z"),
    "pouting": SliderSpec("pouting", -0.09, 0.09, 0.0, 0.01, "exp", "lip_variation_zero", ((19, 0, 1.0),)),
    "pursing": SliderSpec("pursing", -20.0, 15.0, 0.0, 0.01, "exp", "lip_variation_one", _PURSING),
    "grin": SliderSpec("grin", 0.0, 15.0, 0.0, 0.01, "exp", "lip_variation_two", _GRIN),
    "lip_open": SliderSpec("lip close <-> open", -90.0, 120.0, 0.0, 1.0, "exp", "lip_variation_three", _LIP_OPEN),
    "smile": SliderSpec("smile", -0.3, 1.3, 0.0, 0.01, "exp", "smile", (
        (20, 1, -0.01), (14, 1, -0.02), (17, 1, 0.0065), (17, 2, 0.003),
        (13, 1, -0.00275), (16, 1, -0.00275), (3, 1, -0.0035), (7, 1, -0.0035))),
    "wink": SliderSpec("wink", 0.0, 39.0, 0.0, 0.01, "exp", "wink", (
        (11, 1, 0.001), (13, 1, -0.0003), (17, 0, 0.0003), (17, 1, 0.0003), (3, 1, -0.0003))),
    "eyebrow": SliderSpec("eyebrow", -30.0, 30.0, 0.0, 0.01, "exp", "eyebrow",
                          ((1, 1, 0.001), (2, 1, -0.001)),
                          ((1, 0, -0.001), (2, 0, 0.001), (1, 1, 0.0003), (2, 1, -0.0003))),
    "gaze_x": SliderSpec("eye gaze (horizontal)", -30.0, 30.0, 0.0, 0.01, "exp", "eyeball_direction_x", _GAZE_X_POS, _GAZE_X_NEG),
    "gaze_y": SliderSpec("eye gaze (vertical)", -63.0, 63.0, 0.0, 0.01, "exp", "eyeball_direction_y", _GAZE_Y),
    # the ComfyUI-AdvancedLivePortrait family (its ranges; no head-rotation couplings)
    "blink": SliderSpec("blink (negative closes)", -20.0, 5.0, 0.0, 0.5, "exp", None, (
        (11, 1, -0.001), (13, 1, 0.0003), (15, 1, -0.001), (16, 1, 0.0003), (1, 1, -0.00025), (2, 1, 0.00025))),
    "pupil_x": SliderSpec("pupil x", -15.0, 15.0, 0.0, 0.5, "exp", None, _GAZE_X_POS, _GAZE_X_NEG),
    "pupil_y": SliderSpec("pupil y", -15.0, 15.0, 0.0, 0.5, "exp", None,  # vertical gaze plus its half-blink's brow terms
                          _GAZE_Y + ((1, 1, 0.000125), (2, 1, -0.000125))),
    "aaa": SliderSpec("mouth 'aaa' (open)", -30.0, 120.0, 0.0, 1.0, "exp", None, _LIP_OPEN),
    "eee": SliderSpec("mouth 'eee' (wide)", -20.0, 15.0, 0.0, 0.2, "exp", None, _GRIN),
    "woo": SliderSpec("mouth 'woo' (round)", -20.0, 15.0, 0.0, 0.2, "exp", None, _PURSING),
}
SLIDER_KEYPOINTS: dict[str, tuple[int, ...]] = {name: spec.keypoints for name, spec in SLIDERS.items()}
OFFICIAL_ARGUMENTS: dict[str, str] = {spec.official: name for name, spec in SLIDERS.items() if spec.official}


def slider_table() -> str:
    """The slider table as Markdown: name, official argument, range, neutral, keypoints and offsets."""
    axes = "xyz"

    def terms(t: Terms) -> str:
        return ", ".join(f"{k}.{axes[a]} {c:+g}" for k, a, c in t)

    rows = ["| slider | official argument | range (step) | neutral | keypoints | effect per unit |", "|---|---|---|---|---|---|"]
    for name, spec in SLIDERS.items():
        if spec.target == "exp":
            effect = terms(spec.positive) if spec.negative is None else f"v>0: {terms(spec.positive)}; v<0: {terms(spec.negative)}"
            kps = ", ".join(map(str, spec.keypoints))
        else:
            effect = {"pitch": "degrees added to the pitch", "yaw": "degrees added to the yaw",
                      "roll": "degrees added to the roll", "scale": "multiplies the scale (not t)",
                      "eye_ratio": "eye retargeting MLP target", "lip_ratio": "lip retargeting MLP target"}[spec.target]
            kps = "all"
        rows.append(f"| {name} | {spec.official or '-'} | {spec.minimum:g} … {spec.maximum:g} ({spec.step:g}) | "
                    f"{'off' if spec.neutral is None else f'{spec.neutral:g}'} | {kps} | {effect} |")
    return "\n".join(rows)


def _as_value(name: str, value: Any) -> SliderValue | None:
    """A slider value as a float or a tuple of per-frame floats, checked against the slider's range."""
    spec = SLIDERS[name]
    if value is None:
        if spec.neutral is not None:
            raise ValueError(f"slider {name!r} needs a value (neutral {spec.neutral:g}); only the ratio targets can be None")
        return None
    if isinstance(value, bool):
        raise ValueError(f"slider {name!r} must be a number or one number per frame, got {value!r}")
    if isinstance(value, (Tensor, np.ndarray, list, tuple)):
        array = np.asarray(value.detach().cpu() if isinstance(value, Tensor) else value, dtype=np.float64)
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"slider {name!r}: per-frame values must be one non-empty list, got shape {array.shape}")
        values: SliderValue = tuple(float(v) for v in array)
    elif isinstance(value, (int, float, np.floating, np.integer)):
        values = float(value)
        array = np.asarray([values])
    else:
        raise ValueError(f"slider {name!r} must be a number or one number per frame, got {type(value).__name__}")
    slack = _RANGE_SLACK * (spec.maximum - spec.minimum)
    bad = array[~(np.isfinite(array) & (array >= spec.minimum - slack) & (array <= spec.maximum + slack))]
    if bad.size:
        raise ValueError(f"slider {name!r} ({spec.label}) must lie in [{spec.minimum:g}, {spec.maximum:g}], got {bad[0]!r}")
    return values


@dataclass(frozen=True)
class ExpressionSliders:
    """Slider values: each a number, or one number per frame (a tuple, list, array or 1-D tensor).

    Fields are the keys of :data:`SLIDERS`, with the same ranges and neutral defaults. The ratio
    targets default to None (no retargeting).
    """

    target_eye_ratio: SliderValue | None = None
    target_lip_ratio: SliderValue | None = None
    pitch: SliderValue = 0.0
    yaw: SliderValue = 0.0
    roll: SliderValue = 0.0
    mov_x: SliderValue = 0.0
    mov_y: SliderValue = 0.0
    mov_z: SliderValue = 1.0
    pouting: SliderValue = 0.0
    pursing: SliderValue = 0.0
    grin: SliderValue = 0.0
    lip_open: SliderValue = 0.0
    smile: SliderValue = 0.0
    wink: SliderValue = 0.0
    eyebrow: SliderValue = 0.0
    gaze_x: SliderValue = 0.0
    gaze_y: SliderValue = 0.0
    blink: SliderValue = 0.0
    pupil_x: SliderValue = 0.0
    pupil_y: SliderValue = 0.0
    aaa: SliderValue = 0.0
    eee: SliderValue = 0.0
    woo: SliderValue = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _as_value(f.name, getattr(self, f.name)))
        self.frames()  # raises on inconsistent per-frame lengths

    @classmethod
    def from_official(cls, arguments: Mapping[str, float]) -> "ExpressionSliders":
        """From the official ``execute_image_retargeting`` argument names (``input_eye_ratio``, ``smile`` …)."""
        unknown = sorted(set(arguments) - set(OFFICIAL_ARGUMENTS))
        if unknown:
            raise ValueError(f"unknown official slider arguments {unknown}; known: {sorted(OFFICIAL_ARGUMENTS)}")
        return cls(**{OFFICIAL_ARGUMENTS[k]: v for k, v in arguments.items()})

    def frames(self) -> int | None:
        """The per-frame count of the per-frame values, or None when every value is a single number."""
        lengths = {name: len(v) for name, v in self.to_dict().items() if isinstance(v, tuple)}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"per-frame slider values differ in length: {lengths}")
        return next(iter(lengths.values()), None)

    def to_dict(self) -> dict[str, SliderValue | None]:
        """Every slider value by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def changed(self) -> dict[str, SliderValue]:
        """The sliders that are not at their neutral value (in any frame)."""
        def neutral(name: str, v: SliderValue | None) -> bool:
            return all(x == SLIDERS[name].neutral for x in v) if isinstance(v, tuple) else v == SLIDERS[name].neutral

        return {name: v for name, v in self.to_dict().items() if not neutral(name, v)}

    def values(self, name: str, n: int, device: torch.device | str | None = None) -> Tensor:
        """(n,) float64 values of slider ``name`` (a single number repeated)."""
        value = getattr(self, name)
        if value is None:
            raise ValueError(f"slider {name!r} is off (None) and has no values")
        if isinstance(value, tuple) and len(value) != n:
            raise ValueError(f"slider {name!r} has {len(value)} per-frame values, {n} frames needed")
        return torch.as_tensor(value, dtype=torch.float64, device=device).expand(n).clone()


# ---------------------------------------------------------------------------------------------
# Applying sliders


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
    """``x_s`` of the source: (1, 21, 3) of a still (see :func:`~.driving.source_keypoints`), or (N, 21, 3)
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
            (each with kp, x_s and its own ratios as needed; see :mod:`.video_editing`).
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


# ---------------------------------------------------------------------------------------------
# Saving and loading slider states (JSON)


def save_sliders(sliders: ExpressionSliders, path: str | Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a slider state as JSON: format name and version, every slider value, and ``metadata``
    (any JSON-serialisable dict, e.g. a name or the source it was made for)."""
    path = Path(path)
    document = {"format": SLIDERS_FORMAT, "format_version": SLIDERS_FORMAT_VERSION,
                "sliders": sliders.to_dict(), "metadata": dict(metadata or {})}
    try:
        text = json.dumps(document, indent=1)
    except TypeError as exc:
        raise ValueError(f"{path}: metadata is not JSON-serialisable ({exc})") from exc
    path.write_text(text + "\n")
    return path


def load_sliders(path: str | Path) -> tuple[ExpressionSliders, dict[str, Any]]:
    """Read a file of :func:`save_sliders`: the slider state and its metadata.

    Sliders absent from the file keep their neutral value; unknown names and out-of-range values are errors.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != SLIDERS_FORMAT:
        raise ValueError(f"{path}: not a slider file (expected 'format': {SLIDERS_FORMAT!r})")
    version = document.get("format_version")
    if not isinstance(version, int) or version > SLIDERS_FORMAT_VERSION:
        raise ValueError(f"{path}: format version {version!r} is not supported (this version reads up to {SLIDERS_FORMAT_VERSION})")
    values, metadata = document.get("sliders", {}), document.get("metadata", {})
    if not isinstance(values, dict) or not isinstance(metadata, dict):
        raise ValueError(f"{path}: 'sliders' and 'metadata' must be JSON objects")
    unknown = sorted(set(values) - set(SLIDERS))
    if unknown:
        raise ValueError(f"{path}: unknown sliders {unknown}; known: {list(SLIDERS)}")
    try:
        return ExpressionSliders(**values), metadata
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc

