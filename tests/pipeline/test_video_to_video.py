"""Source video (video-to-video): the official source-video motion, frame pairing, and the CLI on s18.mp4."""
from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest
import torch

from liveportrait_core.faces.face_tracks import face_tracks
from liveportrait_core.media import iter_video_frames
from liveportrait_core.motion.driving import LIP_ARRAY, DrivingOptions
from liveportrait_core.motion.frame_policy import align_frames
from liveportrait_core.motion.pose import rotation_matrix, transform_keypoints
from liveportrait_core.motion.retargeting import combined_eye_ratio, eye_retargeting_delta
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.motion.smoothing import kalman_smooth
from liveportrait_core.motion.templates import load_template
from liveportrait_core.pipeline.animation import detect_frames, frame_ranges, plan_animation
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.pipeline.face_keypoints import FaceDriving
from liveportrait_core.pipeline.source_frames import SourceFrames
from liveportrait_core.pipeline.video_to_video import (EYE_HOLD_OPEN, SourceVideoOptions, eye_hold_delta, source_video_keypoints,
                                              source_video_motion)
from liveportrait_core.weights.checkpoints import load_network
from tests.conftest import ASSETS, REPO, require
from tests.support.faces import face_models, mediapipe_detector  # noqa: F401
from tests.cli.test_animate import write_lossless_video

SUBSET = [1, 2, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]  # official exp rows written for a source video


def random_motion(n: int, seed: int) -> MotionSequence:
    g = torch.Generator().manual_seed(seed)
    angles = [torch.randn(n, generator=g) * 10 for _ in range(3)]
    kp = torch.randn(1, 21, 3, generator=g).expand(n, -1, -1) * 0.1
    R, exp = rotation_matrix(*angles), torch.randn(n, 21, 3, generator=g) * 0.01
    scale, t = 1 + 0.1 * torch.rand(n, 1, generator=g), torch.randn(n, 3, generator=g) * 0.05
    return MotionSequence(R=R, exp=exp, scale=scale, t=t, kp=kp, x_s=transform_keypoints(kp, R, exp, scale, t),
                          eye_ratio=0.3 * torch.rand(n, 2, generator=g), lip_ratio=torch.rand(n, 1, generator=g) * 0.1)


def official_exp(source_exp: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The official per-frame writes of ``delta_new`` for region "all" (rows, then single entries)."""
    delta = source_exp.clone()
    delta[:, SUBSET] = target[:, SUBSET]
    delta[:, 3:5, 1] = target[:, 3:5, 1]
    delta[:, 5, 2], delta[:, 8, 2] = target[:, 5, 2], target[:, 8, 2]
    delta[:, 9, 1:] = target[:, 9, 1:]
    return delta


def test_relative_video_motion_is_the_official_smoothed_transfer():
    source, driving = random_motion(6, 0), random_motion(6, 1)
    got = source_video_motion(source, driving, DrivingOptions(), SourceVideoOptions(3e-7))
    target = kalman_smooth(source.exp + driving.exp - driving.exp[:1], 3e-7)
    torch.testing.assert_close(got.exp, official_exp(source.exp, target))
    rotations = torch.stack([driving.R[i] @ driving.R[0].T @ source.R[i] for i in range(6)])
    torch.testing.assert_close(got.R, kalman_smooth(rotations, 3e-7))
    assert torch.equal(got.scale, source.scale) and torch.equal(got.t, source.t) and torch.equal(got.kp, source.kp)


def test_an_anchor_frame_replaces_the_first_driving_frame_as_the_reference():
    source, driving = random_motion(6, 0), random_motion(6, 1)
    options, video = DrivingOptions(), SourceVideoOptions(3e-7)
    first = source_video_motion(source, driving, options, video)
    torch.testing.assert_close(source_video_motion(source, driving, options, video, anchor=driving.select([0])), first)
    got = source_video_motion(source, driving, options, video, anchor=driving.select([3]))
    target = kalman_smooth(source.exp + driving.exp - driving.exp[3:4], 3e-7)
    torch.testing.assert_close(got.exp, official_exp(source.exp, target))
    rotations = torch.stack([driving.R[i] @ driving.R[3].T @ source.R[i] for i in range(6)])
    torch.testing.assert_close(got.R, kalman_smooth(rotations, 3e-7))
    assert not torch.allclose(got.exp, first.exp)


def test_image_driving_and_absolute_motion_follow_the_official_source_video_path():
    source, image = random_motion(4, 2), random_motion(1, 3)
    driving = image.select([0, 0, 0, 0])
    rel = source_video_motion(source, driving, DrivingOptions(), driving_is_image=True)
    lip = torch.tensor(LIP_ARRAY, dtype=torch.float32)[None]
    torch.testing.assert_close(rel.exp, official_exp(source.exp, source.exp + image.exp - lip))
    assert torch.equal(rel.R, source.R)  # unsmoothed source rotation
    video = random_motion(4, 4)
    absolute = source_video_motion(source, video, DrivingOptions(relative=False))
    torch.testing.assert_close(absolute.exp, official_exp(source.exp, kalman_smooth(video.exp, 3e-7)))
    assert torch.equal(absolute.t, video.t) and torch.equal(absolute.scale, source.scale)
    lips = source_video_motion(source, video, DrivingOptions(region="lip"))
    assert torch.equal(lips.R, source.R) and torch.equal(lips.exp[:, [0, 1, 2]], source.exp[:, [0, 1, 2]])
    assert not torch.equal(lips.exp[:, 19], source.exp[:, 19])


def test_eye_hold_adds_the_first_frames_opening_only_without_retargeting(synthetic_weights):
    module = load_network("stitching_retargeting_module", synthetic_weights / "stitching_retargeting_module.pth")
    source, driving = random_motion(3, 5), random_motion(3, 6)
    plain = source_video_keypoints(module, source, driving, DrivingOptions())
    held = source_video_keypoints(module, source, driving, DrivingOptions(), SourceVideoOptions(eye_hold=True))
    with torch.inference_mode():
        torch.testing.assert_close(held - plain, eye_hold_delta(module, source.x_s, source.eye_ratio))
        for first, target in ((0.1, EYE_HOLD_OPEN), (0.3, 0.3)):  # almost closed at first: held open at 0.39
            ratios = torch.tensor([[first, first], [0.2, 0.25], [0.5, 0.4]])
            expected = eye_retargeting_delta(module, source.x_s, combined_eye_ratio(ratios, torch.full((3, 1), target)))
            torch.testing.assert_close(eye_hold_delta(module, source.x_s, ratios), expected)
    retargeted = DrivingOptions(eye_retargeting=True)
    assert torch.equal(source_video_keypoints(module, source, driving, retargeted, SourceVideoOptions(eye_hold=True)),
                       source_video_keypoints(module, source, driving, retargeted))


def test_missing_frames_are_reported_as_ranges():
    assert frame_ranges([9, 2, 7, 8, 4]) == "2, 4, 7-9" and frame_ranges([]) == ""


def test_frame_alignment_of_a_source_and_several_drivers():
    assert align_frames([5, 3, 1], "shortest") == [[0, 1, 2], [0, 1, 2], [0, 0, 0]]
    assert align_frames([5, 3], "loop") == [[0, 1, 2, 3, 4], [0, 1, 2, 0, 1]]
    assert align_frames([2, 6], "hold last", limit=4) == [[0, 1, 1, 1], [0, 1, 2, 3]]
    assert align_frames([1, 1], "ping-pong") == [[0], [0]]


@pytest.fixture(scope="module")
def engine(synthetic_weights) -> LivePortraitEngine:
    return LivePortraitEngine.from_folder(synthetic_weights, device="cpu", precision="bf16", download=False)


@pytest.mark.slow
def test_frames_without_a_face_are_kept_and_reported(engine, mediapipe_detector, tmp_path):
    """Three frames of s18, the middle one blanked: it comes out untouched; elsewhere only masked pixels change."""
    frames = next(iter_video_frames(require(ASSETS / "source" / "s18.mp4"), chunk=3, limit=3)).copy()
    frames[1] = 90
    write_lossless_video(tmp_path / "blank.mov", list(frames), fps=30)
    source = SourceFrames.video(tmp_path / "blank.mov")
    tracks = face_tracks(detect_frames(mediapipe_detector, source), "largest")
    driving = FaceDriving(load_template(ASSETS / "driving" / "d1.pkl"))
    plan = plan_animation(engine, source, tracks, [driving])
    assert len(plan) == 3 and plan.fps == 30 and plan.missing == [[1]]
    (chunk,) = list(plan.render(chunk_size=3, masks=True))
    out, mask = chunk.frames.numpy(), chunk.masks[0].numpy()
    assert np.array_equal(out[1], frames[1]) and not mask[1].any()
    outside = mask == 0
    assert np.array_equal(out[outside], frames[outside])
    assert np.abs(out[2][mask[2] == 255].astype(int) - frames[2][mask[2] == 255]).mean() > 1  # the face was re-rendered
    # the same frames held in memory (as the ComfyUI node passes them) give the same output
    held = plan_animation(engine, SourceFrames.in_memory(frames), tracks, [driving])
    (same,) = list(held.render(chunk_size=3, masks=True))
    assert torch.equal(same.frames, chunk.frames) and torch.equal(same.masks, chunk.masks)


def test_frames_in_memory_are_read_by_index_and_one_frame_is_a_still():
    frames = np.arange(5 * 2 * 3 * 3, dtype=np.uint8).reshape(5, 2, 3, 3)
    held = SourceFrames.in_memory(frames)
    assert held.is_video and held.count == 5 and held.size == (2, 3) and held.fps is None
    assert np.array_equal(held.read([4, 0, 4]), frames[[4, 0, 4]])
    assert [c.shape[0] for c in held.chunks(2)] == [2, 2, 1]
    with pytest.raises(IndexError, match="out of range"):
        held.read([5])
    still = SourceFrames.in_memory(frames[:1])
    assert not still.is_video and np.array_equal(still.read([0, 0]), frames[[0, 0]])


@pytest.mark.slow
def test_cli_animates_a_source_video_with_its_fps_and_sound(synthetic_weights, face_models, tmp_path):
    out = tmp_path / "v2v.mp4"
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--source", str(require(ASSETS / "source" / "s18.mp4")),
                           "--driving", str(ASSETS / "driving" / "d1.pkl"), "--out", str(out), "--max-frames", "3",
                           "--weights", str(synthetic_weights), "--detector-models", str(face_models), "--no-download",
                           "--device", "cpu", "--precision", "bf16", "--eye-hold"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert float(video.average_rate) == pytest.approx(30.0)
        assert (video.width, video.height) == (1280, 720)
        assert container.streams.audio, "the source's soundtrack is kept"
        assert sum(1 for _ in container.decode(video)) == 3
