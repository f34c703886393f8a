"""Frame-count policies: how frame sequences of different lengths are paired up.

Used wherever two timelines meet: a source video and its driving clip, several faces with drivers
of different lengths, rendered frames and the pictures they are pasted into.
"""
from __future__ import annotations

from typing import Sequence

POLICIES = ("shortest", "loop", "ping-pong", "hold last")


def extend_indices(n: int, length: int, policy: str) -> list[int]:
    """Indices into ``n`` frames for ``length`` output frames: looped, bounced back and forth ("ping-pong"),
    or the last one held ("hold last" and "shortest", which never asks past the end)."""
    if policy == "loop":
        return [i % n for i in range(length)]
    if policy == "ping-pong":
        period = max(2 * n - 2, 1)
        return [min(i % period, period - i % period) for i in range(length)]
    return [min(i, n - 1) for i in range(length)]


def aligned_length(counts: Sequence[int], policy: str) -> int:
    """Output length for sequences of ``counts`` frames: a one-frame sequence serves every frame of the others;
    "shortest" stops with the shortest of the rest, the other policies run to the longest."""
    if not counts or min(counts) < 1:
        raise ValueError(f"cannot pair frame counts {list(counts)}: every side needs at least one frame")
    if policy not in POLICIES:
        raise ValueError(f"frame policy {policy!r} is not one of {', '.join(POLICIES)}")
    moving = [c for c in counts if c > 1] or [1]
    return min(moving) if policy == "shortest" else max(moving)


def align_frames(counts: Sequence[int], policy: str, limit: int | None = None) -> list[list[int]]:
    """One index list per sequence, all of :func:`aligned_length` (at most ``limit``) entries."""
    length = aligned_length(counts, policy)
    if limit is not None:
        length = min(length, limit)
    return [extend_indices(c, length, policy) for c in counts]


def pair_frames(a: int, b: int, policy: str) -> tuple[list[int], list[int]]:
    """Index lists into sequences of ``a`` and ``b`` frames, of equal length (see :func:`align_frames`)."""
    first, second = align_frames((a, b), policy)
    return first, second
