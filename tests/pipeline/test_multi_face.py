"""Several faces: following them by position, one driver each, all pasted back into the same frames."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from liveportrait_core.faces import FaceDetections
from liveportrait_core.faces.face_tracks import face_tracks
from liveportrait_core.faces.identities import face_detections, follow_faces
from liveportrait_core.motion.templates import load_template
from liveportrait_core.pipeline.animation import detect_frames, plan_animation
from liveportrait_core.pipeline.compositing import render_faces
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.pipeline.face_keypoints import FaceDriving, face_keypoints
from liveportrait_core.pipeline.source_frames import SourceFrames
from tests.conftest import ASSETS, REPO
from tests.support.faces import face_models, mediapipe_detector, portrait  # noqa: F401
from tests.cli.test_animate import write_lossless_video


def boxes(*rows: tuple[float, float, float, float]) -> FaceDetections:
    b = torch.tensor(rows, dtype=torch.float32).reshape(-1, 4)
    n = b.shape[0]
    return FaceDetections(b, torch.ones(n), torch.zeros(n, 203, 2), torch.zeros(n, 203, 2)).largest_first()


def test_identities_survive_size_order_flips_gaps_and_newcomers():
    frames = [
        boxes((0, 0, 100, 100), (300, 0, 360, 60)),    # A large, B small
        boxes((10, 0, 70, 60), (300, 0, 420, 120)),    # B now the larger: listed first
        boxes((20, 0, 80, 60)),                        # B lost
        boxes((30, 0, 90, 60), (310, 0, 430, 120), (600, 0, 700, 100)),  # B back near its last box, C new
    ]
    ids = follow_faces(frames)
    assert ids.tolist() == [[0, 1, -1], [1, 0, -1], [0, -1, -1], [2, 0, 1]]
    assert [len(d) for d in face_detections(frames, ids, 1)] == [1, 1, 0, 1]
    assert follow_faces(frames, count=2).tolist() == [[0, 1], [1, 0], [0, -1], [2, 0]]
    with pytest.raises(ValueError, match="face 3 requested but only 3"):
        face_detections(frames, ids, 3)


def two_faces() -> np.ndarray:
    """s42 (512x512) and s12 (375x500) side by side on a 512-high canvas."""
    canvas = np.full((512, 512 + 375, 3), 40, np.uint8)
    canvas[:, :512], canvas[:500, 512:] = portrait("s42"), portrait("s12")
    return canvas


def moving_faces() -> list[np.ndarray]:
    """Four 400x800 frames: face A walks right and grows, face B walks left; B is hidden in frame 2."""
    a_img, b_img = Image.fromarray(portrait("s42")), Image.fromarray(portrait("s12")).resize((300, 400))
    frames = []
    for i in range(4):
        canvas = np.full((400, 800, 3), 40, np.uint8)
        side = 200 + 30 * i
        canvas[:side, 20 + 30 * i:20 + 30 * i + side] = np.asarray(a_img.resize((side, side)))
        if i != 2:
            canvas[:, 500 - 20 * i:800 - 20 * i] = np.asarray(b_img)
        frames.append(canvas)
    return frames


def test_tracking_keeps_identities_on_a_video_where_faces_move(mediapipe_detector, tmp_path):
    write_lossless_video(tmp_path / "moving.mov", moving_faces())
    frames = SourceFrames.video(tmp_path / "moving.mov")
    detections = detect_frames(mediapipe_detector, frames)
    ids = follow_faces(detections)
    assert ids.shape == (4, 2)
    centre_x = [[float(d.boxes[j, [0, 2]].mean()) if j >= 0 else None for j in row.tolist()] for d, row in zip(detections, ids)]
    a = 0 if centre_x[0][0] < centre_x[0][1] else 1  # the identity of face A (on the left)
    for i, row in enumerate(centre_x):
        assert row[a] < 400, f"frame {i}: face A lost or swapped ({row})"
        assert (row[1 - a] is None) if i == 2 else (row[1 - a] > 400), f"frame {i}: face B ({row})"
    tracks = face_tracks(detections, "all")
    assert [t.found.tolist() for t in tracks] == [[True] * 4, [True, True, False, True]][::1 if a == 0 else -1]


@pytest.fixture(scope="module")
def engine(synthetic_weights) -> LivePortraitEngine:
    return LivePortraitEngine.from_folder(synthetic_weights, device="cpu", precision="bf16", download=False)


@pytest.mark.slow
def test_each_face_follows_its_own_driver_and_the_other_face_stays(engine, mediapipe_detector, tmp_path):
    Image.fromarray(two_faces()).save(tmp_path / "two.png")
    frames = SourceFrames.image(tmp_path / "two.png")
    tracks = face_tracks(detect_frames(mediapipe_detector, frames), "all")
    assert len(tracks) == 2
    drivers = [FaceDriving(load_template(ASSETS / "driving" / name).select([10]), is_image=True)
               for name in ("d1.pkl", "laugh.pkl")]
    plan = plan_animation(engine, frames, tracks, drivers)
    for face, own, other in zip(plan.faces, drivers, drivers[::-1]):
        assert torch.equal(face.keypoints, face_keypoints(engine, face.motion, own, [0], [0]))
        assert not torch.allclose(face.keypoints, face_keypoints(engine, face.motion, other, [0], [0]))
    (both,) = list(plan.render(masks=True))
    alone = [next(render_faces(engine, frames, [face], plan.source_index)).frames[0].numpy() for face in plan.faces]
    out, masks, original = both.frames[0].numpy(), both.masks[:, 0].numpy(), frames.read([0])[0]
    assert not ((masks[0] > 0) & (masks[1] > 0)).any(), "the two faces' masks do not overlap here"
    assert np.array_equal(out[masks[1] == 0], alone[0][masks[1] == 0])
    assert np.array_equal(out[masks[0] == 0], alone[1][masks[0] == 0])
    assert np.array_equal(out[(masks[0] == 0) & (masks[1] == 0)], original[(masks[0] == 0) & (masks[1] == 0)])
    for m in masks:
        assert np.abs(out[m == 255].astype(int) - original[m == 255]).mean() > 1


@pytest.mark.slow
def test_cli_drives_every_face_with_per_face_drivers(synthetic_weights, face_models, tmp_path):
    Image.fromarray(two_faces()).save(tmp_path / "two.png")
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--source", str(tmp_path / "two.png"),
                           "--all-faces", "--driving", str(ASSETS / "driving" / "d1.pkl"),
                           "--face-driving", f"1={ASSETS / 'driving' / 'laugh.pkl'}", "--max-frames", "1",
                           "--out", str(tmp_path / "out"), "--weights", str(synthetic_weights), "--detector-models",
                           str(face_models), "--no-download", "--device", "cpu", "--precision", "bf16"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "(2 face(s))" in proc.stderr
    (frame,) = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "out").glob("*.png"))]
    assert frame.shape == two_faces().shape
