"""Driving auto-crop and source-video tracking on real videos: per-frame crop centres move smoothly.

Jitter = mean length of the second difference of the crop centre (pixels), first 64 frames, MediaPipe:

=====  ==========  ===============  ==========================================
video  per frame   smoothed σ = 3   clip average (official)
=====  ==========  ===============  ==========================================
d18    0.42        0.08             0 (box side 502 in a 480 frame)
d19    0.46        0.05             0 (side 546)
d20    1.79        0.20             0 (side 416; the face moves up to 42 px)
=====  ==========  ===============  ==========================================

The smoothed box stays within 0.3-1.8 px (mean) of the per-frame one. Source video s18 (first 32 frames,
1280x720): crop-centre jitter 0.63 px per frame, 0.07 px smoothed (σ = 2). The tests assert the ratios.
"""
from __future__ import annotations

import pytest
import torch

from liveportrait_core.faces.crop import pick_per_frame, track_source_frames
from liveportrait_core.faces.crop_geometry import transform_points
from liveportrait_core.faces.crop_smoothing import fill_gaps, gaussian_smooth, jitter
from liveportrait_core.faces.detector import FaceDetections, NoFaceError
from liveportrait_core.faces.driving_crop import (
    average_box, driving_boxes, is_prepared_crop, smooth_boxes, track_driving_frames,
)
from liveportrait_core.media import iter_video_frames
from tests.conftest import ASSETS, require
from tests.support.faces import face_models, mediapipe_detector  # noqa: F401

FRAMES = 64


def detect_video(detector, name: str, folder: str = "driving", limit: int = FRAMES) -> list[FaceDetections]:
    path = require(ASSETS / folder / name)
    return [d for chunk in iter_video_frames(path, chunk=16, limit=limit) for d in detector.detect(chunk)]


def centres(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, :2] + boxes[:, 2:]) / 2


def crop_centres(track) -> torch.Tensor:
    """(N, 2) original-pixel position of each crop's centre pixel (256, 256)."""
    mid = torch.full((len(track), 1, 2), track.dsize / 2, dtype=torch.float64)
    return transform_points(mid, track.crop_to_original)[:, 0]


@pytest.mark.parametrize("video", ["d18.mp4", "d19.mp4", "d20.mp4"])
def test_driving_crop_centres_move_smoothly(mediapipe_detector, video):
    detections = detect_video(mediapipe_detector, video)
    assert all(len(d) == 1 for d in detections)
    faces, found = pick_per_frame(detections)
    raw = driving_boxes(faces.landmarks)
    smoothed = smooth_boxes(raw, found, 3.0)
    assert jitter(centres(smoothed)) < 0.3 * jitter(centres(raw))
    assert (centres(smoothed) - centres(raw)).norm(dim=1).mean() < 3  # still follows the face
    official = track_driving_frames(detections)
    assert jitter(crop_centres(official)) == pytest.approx(0, abs=1e-9)
    assert torch.allclose(crop_centres(official)[0], centres(average_box(raw)[None])[0])
    follow = track_driving_frames(detections, mode="smooth")
    assert torch.allclose(crop_centres(follow), centres(smoothed), atol=1e-6)


def test_source_video_crops_are_smoothed(mediapipe_detector):
    detections = detect_video(mediapipe_detector, "s18.mp4", folder="source", limit=32)
    raw = track_source_frames(detections, sigma=0)
    smooth = track_source_frames(detections)
    assert bool(smooth.found.all()) and len(smooth) == 32
    assert jitter(crop_centres(smooth)) < 0.5 * jitter(crop_centres(raw))
    angle = lambda t: torch.atan2(t.original_to_crop[:, 0, 1], t.original_to_crop[:, 0, 0])  # noqa: E731
    assert (angle(smooth) - angle(raw)).abs().max() < 0.05


def test_prepared_crop_rule():
    assert is_prepared_crop(512, 512) and is_prepared_crop(480, 480) and is_prepared_crop(256, 256)
    assert not is_prepared_crop(1280, 720) and not is_prepared_crop(1080, 1080) and not is_prepared_crop(512, 510)


def synthetic(n: int, missing: set[int]) -> list[FaceDetections]:
    """A face moving right by 2 px per frame; no face in the ``missing`` frames."""
    base = torch.randn(1, 203, 2, generator=torch.Generator().manual_seed(0)) * 20 + 200
    out = []
    for i in range(n):
        if i in missing:
            out.append(FaceDetections.empty())
        else:
            pts = base + torch.tensor([2.0 * i, 0.0])
            out.append(FaceDetections(torch.tensor([[0.0, 0, 10, 10]]), torch.ones(1), pts, pts))
    return out


def test_missing_face_fails_naming_the_frame_or_is_skipped():
    detections = synthetic(6, missing={3})
    with pytest.raises(NoFaceError, match="no face found in frame 3.*skip"):
        track_driving_frames(detections)
    with pytest.raises(NoFaceError, match="frame 3"):
        track_source_frames(detections)
    track = track_driving_frames(detections, mode="smooth", sigma=0, on_missing="skip")
    assert track.found.tolist() == [True, True, True, False, True, True]
    c = crop_centres(track)
    assert torch.allclose(c[3], (c[2] + c[4]) / 2)  # interpolated from the neighbours
    assert torch.isnan(track.eye_ratio[3]).all() and not torch.isnan(track.eye_ratio[[0, 1, 2, 4, 5]]).any()
    source = track_source_frames(detections, on_missing="skip")
    assert source.found.tolist() == track.found.tolist()
    with pytest.raises(NoFaceError, match="any of the 2 frame"):
        track_driving_frames(synthetic(2, missing={0, 1}), on_missing="skip")


def test_smoothing_helpers():
    values = torch.tensor([[0.0], [float("nan")], [4.0], [float("nan")]], dtype=torch.float64)
    filled = fill_gaps(values, ~torch.isnan(values[:, 0]))
    assert filled[:, 0].tolist() == [0.0, 2.0, 4.0, 4.0]
    ramp = torch.arange(20, dtype=torch.float64)[:, None]
    assert torch.allclose(gaussian_smooth(ramp, 2.0), ramp)  # a steady motion is kept, ends included
    short = gaussian_smooth(ramp[:4], 2.0)[:, 0]  # shorter than the kernel: padded by repetition
    assert bool((short.diff() > 0).all()) and 0 <= float(short.min()) and float(short.max()) <= 3
    assert jitter(torch.cat((ramp, ramp), 1)) == 0
