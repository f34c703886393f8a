"""Expression sliders on a source video: each frame edited from its own motion (``video_editing``), alone or on top of
a driving motion (``source_video_keypoints(sliders=...)``), and ``animate --smile`` on s18.mp4."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import av
import pytest
import torch

from liveportrait_core.editing.sliders import SLIDERS, SLIDER_KEYPOINTS, ExpressionSliders
from liveportrait_core.editing.video import edited_frame_keypoints, frame_sliders
from liveportrait_core.motion.driving import DrivingOptions
from liveportrait_core.motion.retargeting import stitch
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.pipeline.face_keypoints import FaceDriving
from liveportrait_core.pipeline.video_to_video import source_video_keypoints
from liveportrait_core.weights.checkpoints import load_network
from tests.conftest import ASSETS, REPO, require
from tests.support.faces import face_models  # noqa: F401  (fixture)
from tests.pipeline.test_video_to_video import random_motion

FRAMES = 4


@pytest.fixture(scope="module")
def stitcher(synthetic_weights):
    return load_network("stitching_retargeting_module", synthetic_weights / "stitching_retargeting_module.pth")


@pytest.fixture(scope="module")
def video() -> MotionSequence:
    """Four source frames, each with its own pose, expression, scale, translation, x_s and ratios."""
    return random_motion(FRAMES, 3)


def smile_offsets(video: MotionSequence, values: float | list[float]) -> torch.Tensor:
    """(N, 21, 3) what the documented smile offsets move each frame's keypoints by: its scale times the offset."""
    v = torch.as_tensor(values, dtype=torch.float64).expand(len(video))
    return video.scale.double()[:, :, None] * v[:, None, None] * SLIDERS["smile"].basis(False)[None]


def test_neutral_sliders_give_each_frames_own_keypoints_exactly(video, stitcher):
    neutral = ExpressionSliders()
    assert torch.equal(edited_frame_keypoints(None, video, neutral, stitching=False), video.x_s)
    # stitching is the step every edit shares, neutral included (as on the still path)
    assert torch.equal(edited_frame_keypoints(stitcher, video, neutral), stitch(stitcher, video.x_s, video.x_s))
    # ratio targets at each frame's own rounded ratio leave that frame alone (the official "untouched" value)
    own = [round(float(r), 2) for r in video.eye_ratio.mean(dim=1)]
    at_own = ExpressionSliders(target_eye_ratio=own)
    assert torch.equal(edited_frame_keypoints(stitcher, video, at_own, stitching=False), video.x_s)


def test_smile_moves_only_the_smile_keypoints_of_every_frame_by_the_documented_offsets(video):
    edited = edited_frame_keypoints(None, video, ExpressionSliders(smile=0.8), stitching=False)
    change = (edited - video.x_s).double()
    moved = change.abs().amax(dim=2) > 0
    for frame in range(FRAMES):
        assert set(torch.nonzero(moved[frame]).flatten().tolist()) == set(SLIDER_KEYPOINTS["smile"]), frame
    torch.testing.assert_close(change, smile_offsets(video, 0.8), rtol=0, atol=1e-6)


def test_per_frame_values_land_on_their_frames_and_hold_past_their_end(video):
    values = [0.0, 0.4, 1.2]  # three values for four frames: the last one holds
    edited = edited_frame_keypoints(None, video, ExpressionSliders(smile=values), stitching=False)
    torch.testing.assert_close((edited - video.x_s).double(), smile_offsets(video, values + [1.2]), rtol=0, atol=1e-6)
    assert torch.equal(edited[0], video.x_s[0])  # a neutral frame stays exact
    assert frame_sliders(ExpressionSliders(smile=[0.1, 0.2, 0.3, 0.4, 0.5]), 2).smile == (0.1, 0.2)
    state = ExpressionSliders(smile=0.5)
    assert frame_sliders(state, 7) is state


def test_ratio_targets_use_each_frames_own_ratios(video, stitcher):
    edited = edited_frame_keypoints(stitcher, video, ExpressionSliders(target_lip_ratio=0.5), stitching=False)
    for frame in range(FRAMES):
        alone = edited_frame_keypoints(stitcher, video.select([frame]), ExpressionSliders(target_lip_ratio=0.5),
                                       stitching=False)
        torch.testing.assert_close(edited[frame:frame + 1], alone, rtol=0, atol=1e-6)
    assert not torch.allclose(edited[0] - video.x_s[0], edited[1] - video.x_s[1])  # not one frame's delta for all


@pytest.mark.parametrize("options", [DrivingOptions(stitching=False), DrivingOptions(), DrivingOptions(relative=False)])
def test_with_a_driving_motion_the_edits_add_on_top(video, stitcher, options):
    driving = random_motion(FRAMES, 4)
    driven = source_video_keypoints(stitcher, video, driving, options)
    neutral = source_video_keypoints(stitcher, video, driving, options, sliders=ExpressionSliders())
    assert torch.equal(neutral, driven)
    smiling = source_video_keypoints(stitcher, video, driving, options, sliders=ExpressionSliders(smile=[0.3, 1.0]))
    if not options.stitching:
        torch.testing.assert_close((smiling - driven).double(), smile_offsets(video, [0.3, 1.0, 1.0, 1.0]),
                                   rtol=0, atol=1e-6)
    else:  # stitching shifts x and y of every keypoint a little, after the edit
        smile = sorted(SLIDER_KEYPOINTS["smile"])
        assert (smiling - driven)[:, smile].abs().amax() > 5 * (smiling - driven)[:, [0, 4, 8, 10]].abs().amax()


def test_unusable_combinations_are_clear_errors(video, stitcher):
    with pytest.raises(ValueError, match="motion, expression sliders, or both"):
        FaceDriving(None)
    options = DrivingOptions(lip_retargeting=True)
    with pytest.raises(ValueError, match="drop the slider edits"):
        source_video_keypoints(stitcher, video, random_motion(FRAMES, 4), options, sliders=ExpressionSliders(smile=1.0))
    with pytest.raises(ValueError, match="x_s"):
        edited_frame_keypoints(None, replace(video.select([0, 1]), x_s=None), ExpressionSliders(smile=1.0))


def animate(*options: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", *options], cwd=REPO, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.slow
def test_cli_edits_a_source_video_with_slider_options(synthetic_weights, face_models, tmp_path):  # noqa: F811
    out = tmp_path / "smile.mp4"
    proc = animate("--source", str(require(ASSETS / "source" / "s18.mp4")), "--smile", "1.0", "--out", str(out),
                   "--max-frames", "2", "--weights", str(synthetic_weights), "--detector-models", str(face_models),
                   "--no-download", "--device", "cpu", "--precision", "bf16")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (1280, 720) and container.streams.audio
        assert sum(1 for _ in container.decode(video)) == 2
    proc = animate("--source", str(ASSETS / "source" / "s18.mp4"), "--out", str(out))
    assert proc.returncode != 0 and "slider options (--smile V ...) to edit a source video" in proc.stderr
