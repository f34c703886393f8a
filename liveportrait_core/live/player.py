"""Feeding a live session in real time: a camera or a clip in, the newest frame always next, results out.

An input thread reads frames at the input's own pace (a camera's, or a clip's frame rate) into a one-frame
mailbox (:class:`NewestFrame`); the renderer takes whatever frame is newest when it is free. A frame that was not
taken before the next one arrived is dropped, so the output never falls behind the input: when rendering is slower
than the input, the output has fewer frames, each as fresh as it can be. :func:`play` returns a :class:`LiveReport`
with the frame counts, the drop rate and the latency of every frame, per stage.
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter, sleep
from typing import Callable, Iterator, Protocol, Sequence

import numpy as np

from ..media import MediaError, VideoWriter, iter_video_frames, probe_video
from .session import STAGES, LiveFrame, LiveSession


class LiveInputError(RuntimeError):
    """A live input that cannot be opened or read; the message says which and what to do."""


class FrameInput(Protocol):
    """An input: ``frames()`` yields uint8 (H, W, 3) RGB frames at the input's own pace; ``live`` inputs do not wait
    for the renderer (their frames are dropped when it is busy), the others are read only as fast as rendered."""

    name: str
    fps: float
    live: bool

    def frames(self) -> Iterator[np.ndarray]: ...

    def close(self) -> None: ...


class ClipInput:
    """A video file standing in for a camera: played at its real-time rate (``realtime``), or as fast as it decodes."""

    def __init__(self, path: str | Path, realtime: bool = True, limit: int | None = None):
        self.path, self.live, self.limit = Path(path), realtime, limit
        try:
            self.fps = probe_video(self.path).fps
        except MediaError as err:
            raise LiveInputError(f"cannot play {self.path} as the driving input: {err}") from err
        self.name = self.path.name

    def frames(self) -> Iterator[np.ndarray]:
        start = perf_counter()
        index = 0
        for chunk in iter_video_frames(self.path, chunk=4, limit=self.limit):
            for frame in chunk:
                if self.live:
                    sleep(max(0.0, start + index / self.fps - perf_counter()))
                yield frame
                index += 1

    def close(self) -> None:
        pass


class CameraInput:
    """A webcam through OpenCV (``cv2.VideoCapture(index)``)."""

    def __init__(self, index: int):
        import cv2

        self.name, self.live = f"camera {index}", True
        self._cv2 = cv2
        self._capture = cv2.VideoCapture(index)
        if not self._capture.isOpened():
            self._capture.release()
            raise LiveInputError(f"no camera at index {index}: OpenCV could not open it (is one connected, and free?); "
                                 "give a video file to --driving to play it in real time instead")
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS)) or 30.0
        self.stopped = False  # the camera stopped sending frames before it was closed

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            ok, bgr = self._capture.read()
            if not ok:
                self.stopped = True
                return
            yield self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB)

    def close(self) -> None:
        self._capture.release()


@dataclass
class _Captured:
    index: int
    time: float  # perf_counter when the frame arrived
    frame: np.ndarray


class NewestFrame:
    """A one-frame mailbox between the input thread and the renderer: putting a frame replaces one not yet taken
    (counted in :attr:`dropped`), or with ``drop=False`` waits until it was taken; taking waits for a new frame, or
    returns None once the input has ended."""

    def __init__(self, drop: bool = True) -> None:
        self.drop = drop
        self._slot: _Captured | None = None
        self._ended = False
        self._ready = threading.Condition()
        self.dropped = 0

    def put(self, item: _Captured) -> None:
        with self._ready:
            if not self.drop:
                self._ready.wait_for(lambda: self._slot is None or self._ended)
            self.dropped += self._slot is not None
            self._slot = item
            self._ready.notify_all()

    def end(self) -> None:
        with self._ready:
            self._ended = True
            self._ready.notify_all()

    def take(self) -> _Captured | None:
        with self._ready:
            self._ready.wait_for(lambda: self._slot is not None or self._ended)
            item, self._slot = self._slot, None
            self._ready.notify_all()
            return item


@dataclass
class LiveReport:
    """What a live run did: frames read and shown, dropped (never rendered) and without a face, its wall time, and
    per shown frame its latency (arrival to result) and seconds per stage."""

    input_name: str
    input_fps: float
    frames_in: int = 0
    dropped: int = 0
    missing: int = 0
    wall: float = 0.0
    latency: list[float] = field(default_factory=list)
    stages: list[dict[str, float]] = field(default_factory=list)
    input_error: str | None = None

    @property
    def frames_out(self) -> int:
        return len(self.latency)

    @property
    def fps(self) -> float:
        """Frames shown per second of the run."""
        return self.frames_out / self.wall if self.wall > 0 else 0.0

    def percentiles(self) -> dict[str, tuple[float, float]]:
        """Per stage (and "latency", arrival to result): (p50, p99) milliseconds over the shown frames."""
        rows = {name: [s.get(name, 0.0) for s in self.stages] for name in STAGES
                if any(name in s for s in self.stages)}
        rows["latency"] = self.latency
        return {name: (float(np.percentile(v, 50)) * 1000, float(np.percentile(v, 99)) * 1000)
                for name, v in rows.items() if v}

    def table(self) -> str:
        """The report as text: the counts, then p50 / p99 milliseconds per stage."""
        drop = self.dropped / self.frames_in if self.frames_in else 0.0
        lines = [f"input {self.input_name} at {self.input_fps:.2f} fps: {self.frames_in} frames read, "
                 f"{self.frames_out} shown, {self.dropped} dropped ({drop:.1%}), {self.missing} without a face; "
                 f"{self.fps:.2f} fps shown over {self.wall:.1f} s",
                 f"{'stage':<12}{'p50 ms':>10}{'p99 ms':>10}"]
        lines += [f"{name:<12}{p50:>10.1f}{p99:>10.1f}" for name, (p50, p99) in self.percentiles().items()]
        if self.input_error:
            lines.append(f"the input stopped: {self.input_error}")
        return "\n".join(lines)


Sink = Callable[[LiveFrame, float], bool]
"""Takes each shown frame and its input arrival time (perf_counter); returns False to stop the run."""


def play(session: LiveSession, source: FrameInput, sinks: Sequence[Sink] = (), *, max_frames: int | None = None,
         stop: threading.Event | None = None) -> LiveReport:
    """Drive ``session`` with ``source`` until the input ends, a sink returns False, ``stop`` is set or
    ``max_frames`` frames were shown; frames arriving while one renders are dropped (module docstring)."""
    stop = stop or threading.Event()
    mailbox = NewestFrame(drop=source.live)
    report = LiveReport(source.name, source.fps)

    def read() -> None:
        try:
            for index, frame in enumerate(source.frames()):
                if stop.is_set():
                    break
                mailbox.put(_Captured(index, perf_counter(), frame))
                report.frames_in = index + 1
        except Exception as err:  # a camera or file failing mid-stream ends the run with what was shown
            report.input_error = f"{type(err).__name__}: {err}"
        finally:
            mailbox.end()

    reader = threading.Thread(target=read, name="live-input", daemon=True)
    start = perf_counter()
    reader.start()
    try:
        while max_frames is None or report.frames_out < max_frames:
            item = mailbox.take()
            if item is None:
                break
            # a frame of an input that waits for the renderer starts counting when it is taken, not when read ahead
            arrived = item.time if source.live else perf_counter()
            result = session.process(item.frame)
            report.latency.append(perf_counter() - arrived)
            report.stages.append(result.seconds)
            report.missing += not result.face
            if not all([sink(result, arrived) for sink in sinks]):
                break
    finally:
        stop.set()
        mailbox.end()  # frees an input waiting to hand over its frame
        report.wall = perf_counter() - start
        reader.join(timeout=5)
        source.close()
        report.dropped = mailbox.dropped
    return report


class FileSink:
    """Writes the shown frames to an .mp4 at the input's frame rate, each at the time its input frame arrived: a
    dropped frame's slot repeats the frame before it, so the file plays in real time."""

    def __init__(self, path: str | Path, fps: float):
        self.path, self.fps = Path(path), fps
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = VideoWriter(self.path, fps)
        self._start: float | None = None
        self._previous: np.ndarray | None = None

    def __call__(self, result: LiveFrame, arrived: float) -> bool:
        self._start = arrived if self._start is None else self._start
        slot = round((arrived - self._start) * self.fps)
        while self._previous is not None and self._writer.frames_written < slot:
            self._writer.write(self._previous[None])
        self._writer.write(result.image[None])
        self._previous = result.image
        return True

    def close(self) -> None:
        self._writer.close()


def display_available() -> bool:
    """Whether a window can be shown (a desktop session on Windows / macOS, or an X / Wayland display)."""
    return sys.platform in ("win32", "darwin") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class WindowSink:
    """Shows the frames in an OpenCV window; q or Esc stops, r re-centres the session on the next frame."""

    TITLE = "LivePortrait (q: quit, r: re-centre)"

    def __init__(self, session: LiveSession):
        import cv2

        if not display_available():
            raise LiveInputError("no display to show a window on; write the result with --out FILE (and --no-window)")
        self._cv2, self.session = cv2, session

    def __call__(self, result: LiveFrame, arrived: float) -> bool:
        self._cv2.imshow(self.TITLE, self._cv2.cvtColor(result.image, self._cv2.COLOR_RGB2BGR))
        key = self._cv2.waitKey(1) & 0xFF
        if key == ord("r"):
            self.session.recentre()
        return key not in (ord("q"), 27)

    def close(self) -> None:
        self._cv2.destroyAllWindows()
