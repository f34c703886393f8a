"""Keyframe timelines: expressions or slider states at chosen frames, eased in between.

A motion sequence with no driving video: :func:`keyframe_motion` interpolates one-frame motions
(e.g. expressions taken from photos), :func:`keyframe_sliders` interpolates slider states into
per-frame slider values for :func:`~liveportrait_core.editing.apply_sliders.slider_keypoints` (or
:func:`~liveportrait_core.editing.apply_sliders.slider_motion`) on a still source. Every keyframe's
value is hit exactly at its frame; before the first and after the last keyframe the value holds.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Union

import torch
from torch import Tensor

from ..motion.ops import blend, concatenate
from ..motion.sequence import MotionSequence
from .sliders import SLIDERS, ExpressionSliders

EASINGS = ("linear", "ease_in_out", "hold")


def ease(w: Tensor, easing: str) -> Tensor:
    """Eased progress through a segment, exact at 0 and 1.

    "linear": w; "ease_in_out": smoothstep ``w²(3 − 2w)`` (zero speed at both keyframes); "hold": 0
    (the value jumps at the next keyframe).

    Args:
        w: (...) progress in [0, 1].
    """
    if easing == "linear":
        return w
    if easing == "ease_in_out":
        return w * w * (3 - 2 * w)
    if easing == "hold":
        return torch.zeros_like(w)
    raise ValueError(f"easing must be one of {EASINGS}, got {easing!r}")


@dataclass(frozen=True)
class Keyframe:
    """A value at a frame; ``easing`` shapes the segment from this keyframe to the next."""

    frame: int
    value: Union[MotionSequence, ExpressionSliders]
    easing: str = "linear"


def keyframe_weights(keyframes: Sequence[Keyframe], n_frames: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """For each output frame: the keyframes before and after it and the eased weight of the later one.

    Args:
        keyframes: at increasing, distinct frames >= 0.
        n_frames: output length; default the last keyframe's frame + 1.

    Returns:
        lo (n,), hi (n,) keyframe indices and w (n,) float64 weights (0 at and outside keyframes).
    """
    if not keyframes:
        raise ValueError("a timeline needs at least one keyframe")
    frames = [k.frame for k in keyframes]
    if any(isinstance(f, bool) or not isinstance(f, int) or f < 0 for f in frames) or frames != sorted(set(frames)):
        raise ValueError(f"keyframe frames must be distinct integers >= 0 in increasing order, got {frames}")
    unknown = sorted({k.easing for k in keyframes} - set(EASINGS))
    if unknown:
        raise ValueError(f"easing must be one of {EASINGS}, got {unknown}")
    n = frames[-1] + 1 if n_frames is None else n_frames
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_frames must be an integer >= 1, got {n_frames!r}")
    t = torch.arange(n, dtype=torch.float64)
    key_t = torch.tensor(frames, dtype=torch.float64)
    lo = (torch.searchsorted(key_t, t, right=True) - 1).clamp(min=0)
    hi = (lo + 1).clamp(max=len(frames) - 1)
    span = (key_t[hi] - key_t[lo]).clamp(min=1)
    progress = ((t - key_t[lo]) / span).clamp(0, 1)
    progress = torch.where(hi == lo, torch.zeros_like(progress), progress)
    curves = torch.stack([ease(progress, easing) for easing in EASINGS])  # (easings, n)
    which = torch.tensor([EASINGS.index(k.easing) for k in keyframes])[lo]
    return lo, hi, curves.gather(0, which[None])[0]


def keyframe_motion(keyframes: Sequence[Keyframe], n_frames: int | None = None, fps: float | None = None) -> MotionSequence:
    """A motion through one-frame motions at keyframes (geodesic rotations, linear other fields).

    Args:
        keyframes: values are one-frame :class:`MotionSequence` s with the same fields.
        n_frames: output length; default the last keyframe's frame + 1.
        fps: frame rate of the result; default the first keyframe's.

    Returns:
        n_frames frames.
    """
    values = [k.value for k in keyframes]
    if not all(isinstance(v, MotionSequence) and len(v) == 1 for v in values):
        raise ValueError("keyframe_motion needs one-frame MotionSequence values")
    lo, hi, w = keyframe_weights(keyframes, n_frames)
    stacked = concatenate(*values)
    out = blend(stacked.select(lo), stacked.select(hi), w)
    return out if fps is None else replace(out, fps=float(fps))


def keyframe_sliders(keyframes: Sequence[Keyframe], n_frames: int | None = None) -> ExpressionSliders:
    """Per-frame slider values through slider states at keyframes.

    Args:
        keyframes: values are :class:`ExpressionSliders` with single numbers; a ratio target must be
            set in all keyframes or in none.
        n_frames: output length; default the last keyframe's frame + 1.

    Returns:
        ExpressionSliders with one value per frame for every slider (ratio targets None if unset).
    """
    states = [k.value for k in keyframes]
    if not all(isinstance(s, ExpressionSliders) and s.frames() is None for s in states):
        raise ValueError("keyframe_sliders needs ExpressionSliders values with one number per slider")
    lo, hi, w = keyframe_weights(keyframes, n_frames)
    per_frame: dict[str, tuple[float, ...] | None] = {}
    for name in SLIDERS:
        column = [getattr(s, name) for s in states]
        if all(v is None for v in column):
            per_frame[name] = None
            continue
        if any(v is None for v in column):
            raise ValueError(f"slider {name!r} is set in some keyframes only; set it in all or none")
        v = torch.tensor(column, dtype=torch.float64)
        per_frame[name] = tuple(torch.lerp(v[lo], v[hi], w).tolist())
    return ExpressionSliders(**per_frame)
