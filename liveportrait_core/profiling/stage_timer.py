"""A light per-stage timer: seconds of each named stage of a run, summed over its calls.

Host stages (decoding, detection, encoding) are timed with ``time.perf_counter`` on whatever thread does the work,
so a stage that runs beside others (decoding ahead, encoding behind) counts its own work only, and the stages can
add up to more than the run's wall time. Device stages on CUDA are timed with CUDA events recorded on the current
stream: nothing waits for the device while the run goes on; the events are read once, when the figures are asked
for. Stages in :data:`ONE_TIME` (loading the models, compiling) are costs paid once and are reported apart.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch

T = TypeVar("T")

ONE_TIME = ("model load", "compile/warm-up")


class StageTimer:
    """Seconds per named stage, and the frame count and wall time of the run they belong to.

    ``enabled=False`` makes every method a no-op (the default timer of the library's functions).
    """

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.frames = 0
        self.wall = 0.0
        self._host: dict[str, float] = {}
        self._events: dict[str, list[tuple[torch.cuda.Event, torch.cuda.Event]]] = {}
        self._order: list[str] = []
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        """Count ``seconds`` more for the stage ``name`` (thread-safe)."""
        if not self.enabled:
            return
        with self._lock:
            self._note(name)
            self._host[name] = self._host.get(name, 0.0) + seconds

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block's wall seconds (host work) as the stage ``name``."""
        if not self.enabled:
            yield
            return
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    @contextmanager
    def device_stage(self, name: str, device: torch.device) -> Iterator[None]:
        """Time the block as the stage ``name``: with CUDA events on a CUDA ``device`` (no synchronisation), else
        like :meth:`stage`."""
        if not self.enabled or device.type != "cuda":
            with self.stage(name):
                yield
            return
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        try:
            yield
        finally:
            end.record()
            with self._lock:
                self._note(name)
                self._events.setdefault(name, []).append((start, end))

    def iterate(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """``items``, with the time spent producing each one counted as the stage ``name``."""
        iterator = iter(items)
        while True:
            with self.stage(name):
                item = next(iterator, _END)
            if item is _END:
                return
            yield item

    def seconds(self) -> dict[str, float]:
        """Seconds per stage, in the order the stages first ran (waits for the device stages' events)."""
        with self._lock:
            out = {name: self._host.get(name, 0.0) for name in self._order}
            for name, pairs in self._events.items():
                for start, end in pairs:
                    end.synchronize()
                    out[name] += start.elapsed_time(end) / 1000
        return out

    def table(self) -> str:
        """The figures as text: one row per stage (seconds, ms/frame, share of the wall time), the end-to-end frames
        per second, then the one-time costs."""
        seconds = self.seconds()
        frames, wall = max(self.frames, 1), self.wall
        rows = [f"{'stage':<18}{'seconds':>10}{'ms/frame':>10}{'share':>8}"]
        for name, s in seconds.items():
            if name not in ONE_TIME:
                rows.append(f"{name:<18}{s:>10.3f}{1000 * s / frames:>10.1f}{s / wall if wall else 0:>8.0%}")
        rows.append(f"{'total (wall)':<18}{wall:>10.3f}{1000 * wall / frames:>10.1f}{'100%':>8}")
        rows.append(f"end to end: {self.frames} frames, {self.frames / wall if wall else 0:.2f} frames/s "
                    "(overlapped stages count their own work, so the stages can add up to more than the wall time)")
        once = [f"{name} {seconds[name]:.2f} s" for name in ONE_TIME if name in seconds]
        if once:
            rows.append("one-time: " + ", ".join(once))
        return "\n".join(rows)

    def _note(self, name: str) -> None:
        if name not in self._order:
            self._order.append(name)


_END = object()
