"""The live face follower (detected once, followed, detected again on drift, on a schedule, or every frame), the
causal motion filters, and the CUDA graph renderer's fallback."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from liveportrait_core.acceleration.graphs import one_frame_renderer
from liveportrait_core.faces import FaceDetections
from liveportrait_core.live.tracking import FaceFollower
from liveportrait_core.motion.smoothing import MotionFilter, kalman_smooth, one_euro, jitter
from tests.motion.test_motion_math import random_motion


class CountingDetector:
    """One face of random landmarks around (cx, cy), or none while ``present`` is False; counts its calls."""

    name = "counting"

    def __init__(self) -> None:
        self.calls, self.present, self.centre = 0, True, (320.0, 240.0)

    def detect(self, images):
        self.calls += 1
        if not self.present:
            return [FaceDetections.empty(203)]
        points = (torch.rand(1, 203, 2, generator=torch.Generator().manual_seed(self.calls)) - 0.5) * 120
        points = points + torch.tensor(self.centre)
        box = torch.cat((points.amin(1), points.amax(1)), dim=1)
        return [FaceDetections(box, torch.ones(1), points, points)]

    def close(self) -> None:
        pass


FRAME = np.zeros((480, 640, 3), np.uint8)
STILL = (torch.zeros(1, 3), torch.ones(1, 1))


def test_first_frame_is_detected_then_followed_until_it_drifts():
    detector = CountingDetector()
    follower = FaceFollower(detector, drift=0.05, asynchronous=False)
    first = follower.track(FRAME)
    assert detector.calls == 1 and first is not None and bool(first.found[0])
    for _ in range(5):
        assert follower.track(FRAME) is first
        follower.observe(*STILL, FRAME)
    assert detector.calls == 1  # a still face is not detected again
    detector.centre = (400.0, 260.0)
    follower.observe(torch.tensor([[0.06, 0.0, 0.0]]), torch.ones(1, 1), FRAME)  # moved beyond the drift
    assert detector.calls == 2
    moved = follower.track(FRAME)
    assert moved is not first and not torch.equal(moved.original_to_crop, first.original_to_crop)
    follower.observe(*STILL, FRAME)  # the new crop's first motion is its baseline
    follower.observe(torch.zeros(1, 3), torch.full((1, 1), 1.1), FRAME)  # the face grew by 10 %
    assert detector.calls == 3
    follower.close()


def test_detection_on_a_schedule_and_every_frame():
    detector = CountingDetector()
    follower = FaceFollower(detector, every=3, asynchronous=False)
    for _ in range(7):
        follower.track(FRAME)
    assert detector.calls == 3  # frames 0, 3 and 6
    follower.close()
    detector = CountingDetector()
    follower = FaceFollower(detector, every_frame=True)
    tracks = [follower.track(FRAME) for _ in range(4)]
    assert detector.calls == 4 and all(t.landmarks.isfinite().all() for t in tracks)
    follower.close()


def test_a_lost_face_gives_no_crop_until_found_again():
    detector = CountingDetector()
    follower = FaceFollower(detector, every=1, asynchronous=False)
    assert follower.track(FRAME) is not None
    detector.present = False
    assert follower.track(FRAME) is None and follower.lost
    assert follower.track(FRAME) is None
    detector.present = True
    assert follower.track(FRAME) is not None and not follower.lost
    follower.close()


def test_asynchronous_redetection_serves_the_old_crop_meanwhile():
    detector = CountingDetector()
    slow = detector.detect

    def detect(images):
        if detector.calls:  # every detection after the first takes a while
            time.sleep(0.3)
        return slow(images)

    detector.detect = detect
    follower = FaceFollower(detector, drift=0.01)
    first = follower.track(FRAME)
    follower.observe(*STILL, FRAME)
    detector.centre = (400.0, 260.0)
    follower.observe(torch.tensor([[0.5, 0.0, 0.0]]), torch.ones(1, 1), FRAME)
    start = time.perf_counter()
    assert follower.track(FRAME) is first  # the old crop serves while the detection runs
    assert time.perf_counter() - start < 0.2
    time.sleep(0.6)
    assert follower.track(FRAME) is not first  # and the new one once it is done
    follower.close()
    assert detector.calls == 2


def test_live_filters_are_causal_and_match_the_offline_forward_pass():
    motion = random_motion(30, seed=3)
    for method in ("kalman", "one_euro"):
        full = MotionFilter(method, 25.0)
        part = MotionFilter(method, 25.0)
        whole = [full(motion.select(slice(i, i + 1))) for i in range(30)]
        prefix = [part(motion.select(slice(i, i + 1))) for i in range(12)]
        for a, b in zip(prefix, whole):  # a frame's output never depends on later frames
            torch.testing.assert_close(a.exp, b.exp, rtol=0, atol=0)
        torch.testing.assert_close(whole[0].exp, motion.exp[:1])  # the first frame is kept
        smoothed = torch.cat([m.exp for m in whole])
        assert jitter(smoothed) < jitter(motion.exp)
        rotations = torch.cat([m.R for m in whole])
        torch.testing.assert_close(rotations @ rotations.transpose(1, 2), torch.eye(3).expand(30, 3, 3), atol=1e-5, rtol=0)
    # the Kalman filter's forward pass at the last frame is where the official smoother ends, too
    kalman = MotionFilter("kalman", 25.0, fields=("exp",))
    last = [kalman(motion.select(slice(i, i + 1))) for i in range(30)][-1]
    torch.testing.assert_close(last.exp, kalman_smooth(motion.exp)[-1:])
    with pytest.raises(ValueError, match="one frame at a time"):
        kalman(motion)
    assert one_euro(motion.exp, 25.0).shape == motion.exp.shape


def test_a_graph_that_cannot_be_captured_falls_back_with_a_warning():
    def render(feature, kp_source, kp_driving):
        return feature.sum() + kp_driving

    with pytest.warns(UserWarning, match="CUDA graph capture failed.*without it"):
        assert one_frame_renderer(render, torch.zeros(1, 2), torch.zeros(1, 21, 3)) is None
