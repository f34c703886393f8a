"""Detection spread over worker threads, each with its own detector (MediaPipe's are not thread-safe).

Threads, not processes: MediaPipe's ``detect`` and onnxruntime's ``run`` release the GIL (measured, see
``docs/performance.md``), so threads detect in parallel with no start-up cost and no frames to copy.
Results come back in input order and equal the single detector's: every image is detected by one whole detector.
"""
from __future__ import annotations

import os
import queue
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Sequence

import numpy as np
from torch import Tensor

from .detector import FaceDetections, FaceDetector
from .images import image_items

MAX_WORKERS = 8  # past this the render, not detection, bounds a clip; each MediaPipe detector holds its own models


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the platform says, else ``os.cpu_count()``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_workers(backend: str) -> int:
    """Workers for ``backend``: MediaPipe one per CPU but one (left for decoding and encoding), at most
    :data:`MAX_WORKERS`; insightface 1, its onnxruntime sessions already spread a frame over every core (or the GPU)."""
    if backend != "mediapipe":
        return 1
    return max(1, min(MAX_WORKERS, usable_cpus() - 1))


class DetectorPool:
    """A :class:`~.detector.FaceDetector` that detects a batch on ``workers`` threads.

    ``factory`` makes one detector; the first is made at once (so a missing model fails here), the others when
    a batch of two images or more first needs them. A single image is detected in the caller's thread.
    """

    def __init__(self, factory: Callable[[], FaceDetector], workers: int):
        if workers < 1:
            raise ValueError(f"a detector pool needs at least 1 worker, got {workers}")
        self._factory = factory
        self.workers = workers
        self._detectors = [factory()]
        self._idle: queue.SimpleQueue[FaceDetector] = queue.SimpleQueue()  # each detector used by one thread at a time
        self._idle.put(self._detectors[0])
        self._threads: ThreadPoolExecutor | None = None
        self.name = self._detectors[0].name

    def detect(self, images: Sequence[np.ndarray] | np.ndarray | Tensor) -> list[FaceDetections]:
        """uint8 RGB images -> one :class:`~.detector.FaceDetections` per image, in input order.

        Raises: what a worker's detector raised, with a note naming the image.
        """
        if not self._detectors:
            raise RuntimeError(f"the {self.name} detector pool is closed")
        items = image_items(images)
        if len(items) <= 1:
            return self._detect_one(items)
        threads = self._start(len(items))
        futures = [threads.submit(self._detect_one, [item]) for item in items]
        return [d for i, future in enumerate(futures) for d in self._result(future, i, futures)]

    def _start(self, batch: int) -> ThreadPoolExecutor:
        """The threads, and as many detectors as ``batch`` can use (at most ``workers``)."""
        while len(self._detectors) < min(batch, self.workers):
            self._detectors.append(self._factory())
            self._idle.put(self._detectors[-1])
        if self._threads is None:
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.name}-detector")
        return self._threads

    def _detect_one(self, images: Sequence[np.ndarray | Tensor]) -> list[FaceDetections]:
        detector = self._idle.get()
        try:
            return detector.detect(images)
        finally:
            self._idle.put(detector)

    @staticmethod
    def _result(future: Future, index: int, futures: list[Future]) -> list[FaceDetections]:
        try:
            return future.result()
        except Exception as err:
            for pending in futures:
                pending.cancel()
            err.add_note(f"(raised by a {len(futures)}-image detector pool's worker, on image {index})")
            raise

    def close(self) -> None:
        """Wait for the threads, then close every detector (once)."""
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None
        detectors, self._detectors = self._detectors, []
        for detector in detectors:
            detector.close()

    def __enter__(self) -> "DetectorPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
