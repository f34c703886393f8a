"""Motion as data: pure functions MotionSequence -> MotionSequence on the time axis, and blending.

Rotations are interpolated on the geodesic (:mod:`.rotations`), every other field (expression,
scale, translation, canonical keypoints, eye/lip ratios) linearly. Derived posed keypoints ``x_s``
are recomputed from the interpolated fields (:func:`recompose`), never interpolated themselves.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch
from torch import Tensor

from .pose import transform_keypoints
from .rotations import interpolate_rotations
from .sequence import MotionSequence

# Fields interpolated linearly (when present); R is interpolated on the geodesic, x_s recomputed.
LINEAR_FIELDS = ("exp", "scale", "t", "kp", "eye_ratio", "lip_ratio")


def recompose(motion: MotionSequence, **changes: Tensor | float | None) -> MotionSequence:
    """``motion`` with fields replaced and ``x_s`` recomputed as ``scale · (kp @ R + exp) + (tx, ty, 0)``
    from the result (None when there are no canonical keypoints)."""
    m = replace(motion, **changes)
    x_s = transform_keypoints(m.kp, m.R, m.exp, m.scale, m.t) if m.kp is not None else None
    return replace(m, x_s=x_s)


def broadcast_frames(motion: MotionSequence, n: int) -> MotionSequence:
    """A one-frame motion repeated to n frames; an n-frame motion unchanged (anything else is an error)."""
    if len(motion) == n:
        return motion
    if len(motion) != 1:
        raise ValueError(f"a motion of {len(motion)} frames cannot be broadcast to {n} frames (give 1 or {n})")
    return motion.select(torch.zeros(n, dtype=torch.long, device=motion.R.device))


def one_frame(motion: MotionSequence, frame: int | MotionSequence, what: str = "reference") -> MotionSequence:
    """A frame of ``motion`` by index (negative counts from the end), or an external one-frame motion as is."""
    if isinstance(frame, MotionSequence):
        if len(frame) != 1:
            raise ValueError(f"the {what} must be a frame index or one frame, got {len(frame)} frames")
        return frame
    i = _frame_index(frame, len(motion), f"{what} frame")
    if i == len(motion):
        raise ValueError(f"{what} frame {frame} is out of range for {len(motion)} frame(s)")
    return motion.select(slice(i, i + 1))


def frame_weights(weight: Tensor | float, n: int, device: torch.device | str | None = None) -> Tensor:
    """A scalar or (n,) weight as (n,) finite float64 values."""
    w = torch.as_tensor(weight, dtype=torch.float64, device=device)
    if w.ndim > 1 or (w.ndim == 1 and w.shape[0] not in (1, n)):
        raise ValueError(f"weights must be one number or one per frame ({n}), got shape {tuple(w.shape)}")
    if not bool(torch.isfinite(w).all()):
        raise ValueError("weights must be finite")
    return w.expand(n)


def lerp_frames(x: Tensor, y: Tensor, w: Tensor) -> Tensor:
    """Per-frame ``torch.lerp`` (exact at w = 0 and 1): (N, ...), (N, ...), (N,) -> (N, ...)."""
    return torch.lerp(x, y, w.to(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1)))


def _frame_index(index: int, n: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, int):
        raise ValueError(f"{what} must be an integer frame index, got {index!r}")
    if not -n <= index <= n:
        raise ValueError(f"{what} {index} is out of range for {n} frame(s)")
    return index % n if index < 0 else index


def interpolate_frames(motion: MotionSequence, positions: Tensor) -> MotionSequence:
    """Frames at fractional positions of the frame axis.

    Position p lies between frames ``floor(p)`` and ``floor(p) + 1`` with weight ``p − floor(p)``; an
    integer position returns that frame exactly (``x_s`` recomputed when ``kp`` is known).

    Args:
        motion: N frames.
        positions: (M,) positions in [0, N − 1].

    Returns:
        M frames, same fps.
    """
    n = len(motion)
    positions = torch.as_tensor(positions, dtype=torch.float64, device=motion.R.device).reshape(-1)
    if not bool(torch.isfinite(positions).all()) or (positions.numel() and (positions.min() < 0 or positions.max() > n - 1)):
        raise ValueError(f"frame positions must be finite and within [0, {n - 1}] for {n} frame(s)")
    lo = positions.floor().long().clamp(max=max(n - 2, 0))
    hi = (lo + 1).clamp(max=n - 1)
    w = positions - lo
    changes: dict[str, Tensor] = {"R": interpolate_rotations(motion.R[lo], motion.R[hi], w)}
    for name in LINEAR_FIELDS:
        value = getattr(motion, name)
        if value is not None:
            changes[name] = lerp_frames(value[lo], value[hi], w)
    return recompose(motion, **changes)


def retime(motion: MotionSequence, fps: float) -> MotionSequence:
    """Resample to another frame rate, keeping the duration ``N / fps``.

    Output frame j shows time ``j / fps``, i.e. source position ``j · fps_in / fps``; positions past
    the last frame hold it. The frame count is ``max(1, round(N · fps / fps_in))``.

    Args:
        motion: N frames at ``motion.fps``.
        fps: target frame rate (> 0).

    Returns:
        M frames at ``fps``.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"target fps must be a positive number, got {fps!r}")
    n = len(motion)
    m = max(1, round(n * fps / motion.fps))
    positions = (torch.arange(m, dtype=torch.float64) * (motion.fps / fps)).clamp(max=n - 1)
    return replace(interpolate_frames(motion, positions), fps=float(fps))


def trim(motion: MotionSequence, start: int = 0, end: int | None = None) -> MotionSequence:
    """Frames ``start … end − 1`` (Python slice semantics, negative indices count from the end); at least one frame."""
    n = len(motion)
    a = _frame_index(start, n, "trim start")
    b = n if end is None else _frame_index(end, n, "trim end")
    if b <= a:
        raise ValueError(f"trim keeps no frame: start {start} -> {a}, end {end} -> {b} of {n} frame(s)")
    return motion.select(slice(a, b))


def reverse(motion: MotionSequence) -> MotionSequence:
    """The frames in reverse order."""
    return motion.select(torch.arange(len(motion) - 1, -1, -1))


def loop(motion: MotionSequence, times: int) -> MotionSequence:
    """The sequence played ``times`` times in a row (N · times frames)."""
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"loop count must be an integer >= 1, got {times!r}")
    return motion.select(torch.arange(len(motion)).repeat(times))


def ping_pong(motion: MotionSequence, times: int = 1) -> MotionSequence:
    """Forward then backward, ``times`` round trips; the turning frames are not repeated, so the result
    loops seamlessly: frames 0 … N−1 … 1, repeated (2N − 2 frames per round trip, at least 1)."""
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"ping-pong count must be an integer >= 1, got {times!r}")
    n = len(motion)
    cycle = torch.cat((torch.arange(n), torch.arange(n - 2, 0, -1))) if n > 1 else torch.zeros(1, dtype=torch.long)
    return motion.select(cycle.repeat(times))


def concatenate(*motions: MotionSequence) -> MotionSequence:
    """Motions one after another (fps of the first); optional fields missing in any of them are dropped."""
    if not motions:
        raise ValueError("concatenate needs at least one motion")
    present = set.intersection(*(set(m.tensors()) for m in motions))
    return replace(motions[0], **{k: torch.cat([getattr(m, k) for m in motions]) if k in present else None
                                  for k in motions[0].tensors()})


def blend(a: MotionSequence, b: MotionSequence, weight: Tensor | float) -> MotionSequence:
    """Frame-by-frame mix of two motions: geodesic for R, linear for the other fields.

    Weight 0 returns ``a``'s values and weight 1 ``b``'s, bit for bit. Fields present in only one
    motion are dropped.

    Args:
        a, b: N frames each (or 1, broadcast).
        weight: scalar or (N,) weights of ``b``.

    Returns:
        N frames at ``a.fps``.
    """
    n = max(len(a), len(b))
    a, b = broadcast_frames(a, n), broadcast_frames(b, n)
    w = frame_weights(weight, n, a.R.device)
    changes: dict[str, Tensor | None] = {"R": interpolate_rotations(a.R, b.R, w)}
    for name in LINEAR_FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        changes[name] = None if x is None or y is None else lerp_frames(x, y.to(x), w)
    return recompose(a, **changes)


def cross_fade(a: MotionSequence, b: MotionSequence, frames: int) -> MotionSequence:
    """``a`` then ``b``, the last ``frames`` frames of ``a`` blended into the first ``frames`` of ``b``.

    The blend weights are ``k / (frames + 1)`` for k = 1 … frames, so every frame outside the overlap
    is exactly one of the inputs. Result length ``len(a) + len(b) − frames``, fps of ``a``.
    """
    if isinstance(frames, bool) or not isinstance(frames, int) or not 0 <= frames <= min(len(a), len(b)):
        raise ValueError(f"cross-fade length must be an integer in [0, {min(len(a), len(b))}], got {frames!r}")
    if frames == 0:
        return concatenate(a, b)
    weights = torch.arange(1, frames + 1, dtype=torch.float64) / (frames + 1)
    overlap = blend(a.select(slice(len(a) - frames, None)), b.select(slice(0, frames)), weights)
    head, tail = a.select(slice(0, len(a) - frames)), b.select(slice(frames, None))
    return concatenate(*(m for m in (head, overlap, tail) if len(m)))
