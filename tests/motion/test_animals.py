"""Animals: crops without a detector (face box, centre), the official animal motion, and ``animate --variant animals``."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from liveportrait_core.faces import paste_mask, warp_mask
from liveportrait_core.faces.box_crop import track_center, track_face_box
from liveportrait_core.faces.crop_geometry import CropParams, transform_points
from liveportrait_core.motion.animals import ANIMAL_OPTIONS, animal_keypoints
from liveportrait_core.motion.driving import DrivingOptions, motion_multiplier
from liveportrait_core.motion.pose import transform_keypoints
from liveportrait_core.motion.retargeting import stitch
from liveportrait_core.weights.checkpoints import load_network
from liveportrait_core.weights.files import find_weights
from tests.conftest import ASSETS, REPO, WEIGHT_FILES, require
from tests.pipeline.test_video_to_video import random_motion

DOG_BOX = "150,170,220,220"  # x, y, w, h of the dog's face in s33.jpg (512x512)


def crop_corners(track) -> torch.Tensor:
    """(4, 2) original-pixel corners of the first crop square."""
    d = track.dsize
    return transform_points(torch.tensor([[[0.0, 0.0], [d, 0.0], [d, d], [0.0, d]]], dtype=torch.float64),
                            track.crop_to_original[:1])[0]


def test_face_box_crop_follows_the_official_geometry_and_centre_crop_is_the_middle_square():
    track = track_face_box((100, 50, 200, 100), (400, 600), frames=3)
    side, cy = 2.3 * 200, 100 - 0.125 * 2.3 * 200  # official scale and vy about the box centre (200, 100)
    left, top, right, bottom = 200 - side / 2, cy - side / 2, 200 + side / 2, cy + side / 2
    expected = torch.tensor([[left, top], [right, top], [right, bottom], [left, bottom]], dtype=torch.float64)
    torch.testing.assert_close(crop_corners(track), expected)
    assert len(track) == 3 and bool(track.found.all()) and bool(torch.isnan(track.eye_ratio).all())
    exact = track_face_box((10, 20, 30, 30), (100, 100), CropParams(scale=1.0, vy_ratio=0.0))
    torch.testing.assert_close(crop_corners(exact)[[0, 2]], torch.tensor([[10.0, 20.0], [40.0, 50.0]], dtype=torch.float64))
    centre = track_center((500, 375))
    torch.testing.assert_close(crop_corners(centre)[[0, 2]], torch.tensor([[0.0, 62.5], [375.0, 437.5]], dtype=torch.float64))
    with pytest.raises(ValueError, match="empty"):
        track_face_box((0, 0, 0, 10), (100, 100))
    with pytest.raises(ValueError, match="outside the 100x100 picture"):
        track_face_box((150, 0, 10, 10), (100, 100))


def test_animal_keypoints_are_the_official_animal_formula(synthetic_weights):
    module = load_network("stitching_retargeting_module", synthetic_weights / "stitching_retargeting_module.pth")
    source, driving = random_motion(1, 7), random_motion(5, 8)
    x_d = transform_keypoints(source.kp, driving.R, driving.exp, source.scale, driving.t)
    expected = (x_d - x_d[:1]) * motion_multiplier(source.x_s, x_d[:1]) + source.x_s
    with torch.inference_mode():
        torch.testing.assert_close(animal_keypoints(module, source, driving), expected)
        stitched = animal_keypoints(module, source, driving, DrivingOptions(stitching=True, multiplier=1.75))
        torch.testing.assert_close(stitched, source.x_s + (stitch(module, source.x_s, expected) - source.x_s) * 1.75)
    assert ANIMAL_OPTIONS.stitching is False
    with pytest.raises(ValueError, match="does not use region"):
        animal_keypoints(module, source, driving, DrivingOptions(region="lip"))


@pytest.fixture
def animal_weights(synthetic_weights, tmp_path):
    """The synthetic files laid out as the hub's animals v1.1 (with the human stitching file, as the official code)."""
    for name in WEIGHT_FILES:
        folder = "liveportrait/retargeting_models" if name.startswith("stitching") else "liveportrait_animals/base_models_v1.1"
        (tmp_path / "w" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "w" / folder / name).symlink_to(synthetic_weights / name)
    assert "base_models_v1.1" in str(find_weights(tmp_path / "w", "animals")["warping_module"])
    return tmp_path / "w"


def animate_animal(weights, out, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--variant", "animals",
                           "--source", str(require(ASSETS / "source" / "s33.jpg")), "--driving", str(ASSETS / "driving" / "d1.pkl"),
                           "--out", str(out), "--weights", str(weights), "--no-download", "--device", "cpu",
                           "--precision", "bf16", *extra], cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_cli_animates_a_dog_from_a_face_box(animal_weights, tmp_path):
    proc = animate_animal(animal_weights, tmp_path / "out", "--face-box", DOG_BOX, "--crop-scale", "1.5", "--max-frames", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    source = np.asarray(Image.open(ASSETS / "source" / "s33.jpg").convert("RGB"))
    frames = [np.asarray(Image.open(p)) for p in sorted((tmp_path / "out").glob("*.png"))]
    assert len(frames) == 2 and all(f.shape == source.shape for f in frames)
    track = track_face_box([float(v) for v in DOG_BOX.split(",")], source.shape[:2], CropParams(scale=1.5))
    mask = warp_mask(paste_mask(), track.crop_to_original, source.shape[:2])[0].numpy()
    assert (mask == 0).mean() > 0.3
    assert all(np.array_equal(f[mask == 0], source[mask == 0]) for f in frames)
    assert np.abs(frames[1][mask == 1].astype(int) - source[mask == 1]).mean() > 1


@pytest.mark.slow
def test_animals_without_a_box_or_with_human_options_fail_clearly(animal_weights, tmp_path):
    proc = animate_animal(animal_weights, tmp_path / "out")
    assert proc.returncode != 0 and "--face-box" in proc.stderr and "X-Pose" in proc.stderr
    proc = animate_animal(animal_weights, tmp_path / "out", "--center-crop", "--eye-retargeting")
    assert proc.returncode != 0 and "does not use eye_retargeting" in proc.stderr
