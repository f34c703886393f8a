"""The pictures that faces are animated in: one still image, or the frames of a source video.

Frames already in memory (a ComfyUI IMAGE batch) are indexed directly. Video files are decoded on
demand and never all held: :meth:`SourceFrames.chunks` streams them in
order, :meth:`SourceFrames.read` returns any frames by index (going forward continues decoding; going
back, as a looped or ping-ponged source does, decodes again from the start).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..media import iter_video_frames, probe_video, read_image


class SourceFrames:
    """uint8 (H, W, 3) RGB source pictures by index; ``count`` frames, ``fps`` None unless they are a video's.

    held: all frames in memory, uint8 (count, H, W, 3); None for a video file decoded on demand.
    """

    def __init__(self, path: Path, held: np.ndarray | None, count: int, fps: float | None, size: tuple[int, int]):
        self.path, self.count, self.fps, self.size = path, count, fps, size  # size: (height, width)
        self._held = held
        self._decoded: Iterator[np.ndarray] | None = None
        self._position = 0  # index of the next frame self._decoded yields
        self._recent: dict[int, np.ndarray] = {}

    @classmethod
    def image(cls, path: str | Path) -> "SourceFrames":
        rgb = read_image(path)
        return cls(Path(path), rgb[None], 1, None, rgb.shape[:2])

    @classmethod
    def in_memory(cls, frames: np.ndarray, name: str = "the source frames", fps: float | None = None) -> "SourceFrames":
        """uint8 (n, H, W, 3) frames already decoded (one frame is a still picture), at ``fps`` when they are a
        video's; ``name`` names them in errors."""
        return cls(Path(name), frames, frames.shape[0], fps, frames.shape[1:3])

    @classmethod
    def video(cls, path: str | Path, limit: int | None = None) -> "SourceFrames":
        """The first ``limit`` frames (all when None) of a video."""
        info = probe_video(path)
        count = info.frames if limit is None else min(info.frames, limit)
        return cls(Path(path), None, count, info.fps, (info.height, info.width))

    @property
    def is_video(self) -> bool:
        """Whether the pictures are frames of a video (each with its own face pose), not one still picture."""
        return self._held is None or self.count > 1

    def chunks(self, size: int) -> Iterator[np.ndarray]:
        """All frames in order as uint8 (n, H, W, 3) chunks of at most ``size``."""
        if self._held is not None:
            yield from (self._held[start:start + size] for start in range(0, self.count, size))
            return
        yield from iter_video_frames(self.path, chunk=size, limit=self.count)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 (len(indices), H, W, 3): the frames at ``indices`` (repeats allowed)."""
        if self._held is not None and self.count == 1:
            return np.broadcast_to(self._held, (len(indices), *self._held.shape[1:]))
        if any(not 0 <= i < self.count for i in indices):
            raise IndexError(f"frame indices {min(indices)}..{max(indices)} are out of range for the "
                             f"{self.count} frame(s) of {self.path}")
        if self._held is not None:
            return self._held[list(indices)]
        wanted = sorted(set(indices))
        frames = {i: self._recent[i] for i in wanted if i in self._recent}
        missing = [i for i in wanted if i not in frames]
        if missing and missing[0] < self._position:
            self._decoded, self._position = None, 0
        for i in missing:
            frames[i] = self._advance_to(i)
        self._recent = frames
        return np.stack([frames[i] for i in indices])

    def _advance_to(self, index: int) -> np.ndarray:
        if self._decoded is None:
            self._decoded = (frame for chunk in iter_video_frames(self.path, chunk=8, limit=self.count) for frame in chunk)
        while True:
            frame = next(self._decoded)
            self._position += 1
            if self._position - 1 == index:
                return frame
