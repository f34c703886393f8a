"""A live session with the synthetic official weights: the offline computation at batch 1, re-centring, frames
without a face, a source without one, and its memory released on close."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import weakref

import av
import numpy as np
import pytest

from liveportrait_core.editing.sliders import ExpressionSliders
from liveportrait_core.faces import NoFaceError, create_detector, track_source_image
from liveportrait_core.live import LiveOptions, LiveSession, prepare_source
from liveportrait_core.media import iter_video_frames
from liveportrait_core.pipeline.animation import plan_animation
from liveportrait_core.pipeline.driving_files import load_driving
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.pipeline.source_frames import SourceFrames
from tests.cli.test_animate import write_lossless_video
from tests.conftest import REPO, require
from tests.support.faces import face_models, portrait  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def engine(synthetic_weights) -> LivePortraitEngine:
    return LivePortraitEngine.from_folder(synthetic_weights, device="cpu", precision="fp32", download=False)


@pytest.fixture(scope="module")
def detector(face_models):
    with create_detector("mediapipe", face_models) as d:
        yield d


@pytest.fixture(scope="module")
def driving_clip(assets_dir):
    return require(assets_dir / "driving" / "d20.mp4")


@pytest.fixture(scope="module")
def driving_frames(driving_clip) -> np.ndarray:
    """The first three frames of d20 (480x480 face crops: no detection needed)."""
    return next(iter_video_frames(driving_clip, chunk=3))


@pytest.fixture(scope="module")
def source(engine, detector):
    return prepare_source(engine, portrait("s9"), detector)


def offline_first_frame(engine, detector, frame: np.ndarray, folder) -> np.ndarray:
    """The offline pipeline's output for a one-frame clip of ``frame`` (s9 source, pasted back)."""
    clip = folder / "one.mov"
    write_lossless_video(clip, [frame])
    picture = portrait("s9")
    track = track_source_image(detector.detect(picture[None])[0])
    animation = plan_animation(engine, SourceFrames.in_memory(picture[None]), [track], [load_driving(engine, clip, detector)])
    return next(iter(animation.render(chunk_size=1))).frames[0].numpy()


@pytest.mark.slow
def test_first_frame_is_the_offline_render_and_recentre_restarts_the_motion(engine, detector, source, driving_frames,
                                                                           tmp_path):
    with LiveSession(engine, source, detector, asynchronous_detection=False) as live:
        first = live.process(driving_frames[0])
        second = live.process(driving_frames[2])
        live.recentre()
        recentred = live.process(driving_frames[2])
    assert first.face and first.image.shape == (1280, 720, 3) and set(first.seconds) >= {"motion", "render", "paste-back"}
    np.testing.assert_array_equal(first.image, offline_first_frame(engine, detector, driving_frames[0], tmp_path))
    assert np.abs(second.image.astype(int) - first.image.astype(int)).max() > 10  # frame 2 moves the face
    # after re-centring, frame 2 is the reference: the face is at rest again, exactly as on the first frame
    np.testing.assert_array_equal(recentred.image, first.image)


@pytest.mark.slow
def test_frames_without_a_face_hold_the_last_good_one_or_show_the_source(engine, detector, source, driving_frames):
    empty = np.zeros((480, 640, 3), np.uint8)  # not a face crop, so it is searched for a face: none
    with LiveSession(engine, source, detector, asynchronous_detection=False) as live:
        at_rest = live.process(empty)  # nothing to hold yet: the source at rest
        good = live.process(driving_frames[1])
        held = live.process(empty)
        assert live.missing == 2
    assert not at_rest.face and at_rest.image.shape == good.image.shape
    assert not held.face and held.image is good.image
    with LiveSession(engine, source, detector, LiveOptions(on_missing="source"), asynchronous_detection=False) as live:
        live.process(driving_frames[1])
        np.testing.assert_array_equal(live.process(empty).image, at_rest.image)


@pytest.mark.slow
def test_sliders_apply_live_on_top_of_the_driving(engine, source, driving_frames):
    options = LiveOptions(paste_back=False)
    with LiveSession(engine, source, None, options) as live:
        plain = live.process(driving_frames[0])
        live.sliders = ExpressionSliders(smile=1.0, yaw=10.0)
        smiling = live.process(driving_frames[0])
    assert plain.image.shape == (512, 512, 3)
    assert np.abs(smiling.image.astype(int) - plain.image.astype(int)).mean() > 1
    with pytest.raises(ValueError, match="ratio targets"):
        LiveSession(engine, source, None, sliders=ExpressionSliders(target_eye_ratio=0.3))


def test_a_source_without_a_face_and_frames_that_need_a_detector_are_clear_errors(engine, detector, source):
    with pytest.raises(NoFaceError, match="source portrait"):
        prepare_source(engine, np.full((300, 400, 3), 90, np.uint8), detector)
    with pytest.raises(ValueError, match="not a face crop.*detector"):
        prepare_source(engine, np.zeros((300, 400, 3), np.uint8), None)
    with LiveSession(engine, source, None) as live, pytest.raises(ValueError, match="needs a face detector"):
        live.process(np.zeros((720, 1280, 3), np.uint8))
    with LiveSession(engine, source, None) as live, pytest.raises(ValueError, match="uint8 \\(H, W, 3\\)"):
        live.process(np.zeros((64, 64), np.float32))


def test_closing_releases_the_source_and_the_detection_thread(engine, detector):
    prepared = prepare_source(engine, portrait("s9"), detector)
    feature = weakref.ref(prepared.state.feature)
    live = LiveSession(engine, prepared, detector)
    live.follower.track(np.zeros((480, 640, 3), np.uint8))
    assert [t for t in threading.enumerate() if t.name.startswith("live-detect")]
    del prepared
    live.close()
    assert feature() is None
    assert not [t for t in threading.enumerate() if t.name.startswith("live-detect")]


@pytest.mark.slow
def test_live_command_plays_a_clip_in_real_time_to_a_file(synthetic_weights, face_models, assets_dir, driving_clip,
                                                         tmp_path):
    out = tmp_path / "live.mp4"
    proc = subprocess.run(
        [sys.executable, "-m", "liveportrait_core", "live", "--source", str(require(assets_dir / "source" / "s9.jpg")),
         "--driving", str(driving_clip), "--weights", str(synthetic_weights), "--no-download", "--device", "cpu",
         "--precision", "fp32", "--detector-models", str(face_models), "--no-window", "--max-frames", "2",
         "--out", str(out), "--smoothing", "one_euro"],
        cwd=REPO, capture_output=True, text=True, timeout=600, env={**os.environ, "DISPLAY": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 shown" in proc.stdout and "dropped" in proc.stdout and "latency" in proc.stdout
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (720, 1280) and float(stream.average_rate) == pytest.approx(25.0)


def test_live_command_without_a_camera_says_so(synthetic_weights):
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "live", "--source", "x.jpg", "--driving", "97",
                           "--weights", str(synthetic_weights), "--no-window"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "no camera at index 97" in proc.stderr and "Traceback" not in proc.stderr
