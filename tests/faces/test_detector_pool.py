"""The detector pool: input order, one detector per worker, closing, errors, and MediaPipe's results unchanged."""
from __future__ import annotations

import random
import threading
import time

import numpy as np
import pytest
import torch

import liveportrait_core.faces.detector_pool as detector_pool
from liveportrait_core.cli.crop import DetectorOptions
from liveportrait_core.cli.main import build_parser
from liveportrait_core.faces import DetectorPool, FaceDetections, create_detector, default_workers
from liveportrait_core.media import iter_video_frames
from tests.conftest import ASSETS, require
from tests.support.faces import face_models, portrait  # noqa: F401


class FakeDetector:
    """Reports one face whose box's left edge is the image's first pixel; fails on pixel value ``fail_on``."""

    name = "fake"

    def __init__(self, fail_on: int | None = None):
        self.fail_on = fail_on
        self.closed = False
        self._busy = threading.Lock()

    def detect(self, images) -> list[FaceDetections]:
        if not self._busy.acquire(blocking=False):
            raise AssertionError("one detector used by two threads at once")
        try:
            out = []
            for image in images:
                value = int(np.asarray(image)[0, 0, 0])
                if value == self.fail_on:
                    raise ValueError(f"cannot read image of value {value}")
                time.sleep(random.uniform(0, 0.003))  # finish out of order
                out.append(FaceDetections(torch.tensor([[value, 0.0, value + 1.0, 1.0]]), torch.ones(1),
                                          torch.zeros(1, 203, 2), torch.zeros(1, 203, 2)))
            return out
        finally:
            self._busy.release()

    def close(self) -> None:
        self.closed = True


def frames(count: int) -> np.ndarray:
    """(count, 4, 4, 3) uint8 frames, frame i filled with i."""
    return np.broadcast_to(np.arange(count, dtype=np.uint8)[:, None, None, None], (count, 4, 4, 3)).copy()


def fake_pool(workers: int, fail_on: int | None = None) -> tuple[DetectorPool, list[FakeDetector]]:
    made: list[FakeDetector] = []

    def factory() -> FakeDetector:
        made.append(FakeDetector(fail_on))
        return made[-1]

    return DetectorPool(factory, workers), made


def test_results_in_input_order_and_one_detector_per_worker():
    pool, made = fake_pool(3)
    with pool:
        for batch in (frames(40), list(frames(7)), torch.from_numpy(frames(16))):
            found = pool.detect(batch)
            assert [int(d.boxes[0, 0]) for d in found] == list(range(len(batch)))
        assert len(made) == 3 and pool.name == "fake"


def test_single_image_starts_no_worker():
    pool, made = fake_pool(4)
    with pool:
        assert len(pool.detect(frames(1)[0])) == 1 and len(pool.detect(frames(1))) == 1
        assert len(made) == 1 and not any(t.name.startswith("fake-detector") for t in threading.enumerate())
        pool.detect(frames(2))
        assert len(made) == 2  # no more detectors than the batch can use


def test_close_closes_every_detector_and_stops_the_threads():
    pool, made = fake_pool(2)
    pool.detect(frames(6))
    pool.close()
    pool.close()
    assert len(made) == 2 and all(d.closed for d in made)
    assert not any(t.name.startswith("fake-detector") for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        pool.detect(frames(2))


def test_worker_error_reaches_the_caller_naming_the_image():
    pool, made = fake_pool(2, fail_on=5)
    with pool:
        with pytest.raises(ValueError, match="value 5") as caught:
            pool.detect(frames(12))
        assert any("on image 5" in note for note in caught.value.__notes__)
        assert len(pool.detect(frames(12)[6:])) == 6  # the detectors are free again


def test_default_workers_leave_a_cpu(monkeypatch):
    for cpus, workers in ((1, 1), (2, 1), (4, 3), (16, detector_pool.MAX_WORKERS)):
        monkeypatch.setattr(detector_pool, "usable_cpus", lambda: cpus)
        assert default_workers("mediapipe") == workers and default_workers("insightface") == 1


def test_detector_workers_option():
    parse = build_parser().parse_args
    base = ["crop", "--source", "a.jpg", "--out", "o"]
    assert DetectorOptions.from_args(parse(base + ["--detector-workers", "3"]), ASSETS).workers == 3
    assert DetectorOptions.from_args(parse(base), ASSETS).workers is None
    with pytest.raises(SystemExit):
        parse(base + ["--detector-workers", "0"])


def same(a: FaceDetections, b: FaceDetections) -> bool:
    return all(torch.equal(x, y) for x, y in ((a.boxes, b.boxes), (a.landmarks, b.landmarks))) and \
        torch.equal(a.scores.isnan(), b.scores.isnan()) and torch.equal(a.scores.nan_to_num(), b.scores.nan_to_num())


def test_mediapipe_pool_equals_one_detector(face_models):
    clip = next(iter_video_frames(require(ASSETS / "driving" / "d0.mp4"), chunk=8, limit=8))
    images = [*clip, portrait("s9"), np.zeros((64, 64, 3), np.uint8)]  # sizes differ; the last has no face
    with create_detector("mediapipe", face_models, download=False) as one:
        expected = one.detect(images)
    with create_detector("mediapipe", face_models, download=False, workers=2) as pool:
        assert isinstance(pool, DetectorPool)
        found = pool.detect(images)
    assert len(found) == len(images) and len(found[-1]) == 0 and len(found[0]) >= 1
    assert all(same(a, b) for a, b in zip(found, expected))
