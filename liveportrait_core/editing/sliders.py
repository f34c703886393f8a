"""The expression sliders: one table of every control, and slider states.

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
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Union

import numpy as np
import torch
from torch import Tensor

from ..motion.pose import NUM_KEYPOINTS

Terms = tuple[tuple[int, int, float], ...]  # (keypoint, axis, coefficient) of exp[keypoint, axis] += coefficient · v
SliderValue = Union[float, tuple[float, ...]]  # one value, or one per frame
TARGETS = ("exp", "pitch", "yaw", "roll", "scale", "eye_ratio", "lip_ratio")
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
