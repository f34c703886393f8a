"""``python -m liveportrait_core crop`` on the shared portraits, and ``animate`` with crop and paste-back."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from liveportrait_core.cli.main import main
from liveportrait_core.faces.pasteback import paste_mask, warp_mask
from liveportrait_core.media import iter_video_frames
from tests.conftest import ASSETS, REPO, require
from tests.support.faces import HUMAN_PORTRAITS, eye_centres, face_models, mouth_centre, portrait  # noqa: F401
from tests.cli.test_animate import write_lossless_video


def crop_cli(source, out, models, *extra: str) -> dict:
    assert main(["crop", "--source", str(source), "--out", str(out), "--detector-models", str(models),
                 "--no-download", *extra]) == 0
    return json.loads((out / "crop.json").read_text())


@pytest.mark.parametrize("name", HUMAN_PORTRAITS)
def test_crop_command_levels_the_eyes_and_centres_the_face(face_models, tmp_path, name):
    info = crop_cli(require(ASSETS / "source" / f"{name}.jpg"), tmp_path, face_models)
    (face,) = info["faces"]
    m = np.array(face["affine_original_to_crop"])
    assert m.shape == (2, 3)
    lmk = np.array(face["landmarks"]) @ m[:, :2].T + m[:, 2]  # to crop pixels
    left, right = eye_centres(lmk)
    assert abs(math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))) < 3
    eyes, mouth = (left + right) / 2, mouth_centre(lmk)
    assert abs(eyes[0] - 256) < 30 and abs(mouth[0] - 256) < 30 and 240 < eyes[1] < 270
    assert 0.5 < face["score"] <= 1 and len(face["box"]) == 4
    assert len(face["eye_open_ratio"]) == 2 and 0 <= face["lip_open_ratio"] < 1
    assert Image.open(tmp_path / face["crop"]).size == (512, 512)
    assert Image.open(tmp_path / face["landmarks_drawing"]).size == (512, 512)
    assert info["image_size"] == list(portrait(name).shape[1::-1])


def test_all_faces_largest_first(face_models, tmp_path):
    a, b = portrait("s42"), portrait("s5")  # 512 and 720 squares; s5's face is the smaller one
    canvas = np.zeros((720, 512 + 720, 3), np.uint8)
    canvas[:512, :512], canvas[:, 512:] = a, b
    Image.fromarray(canvas).save(tmp_path / "two.png")
    info = crop_cli(tmp_path / "two.png", tmp_path / "out", face_models, "--all-faces")
    assert [f["crop"] for f in info["faces"]] == ["crop.png", "crop_1.png"]
    assert info["faces"][0]["box"][0] < 512 < info["faces"][1]["box"][0]
    second = crop_cli(tmp_path / "two.png", tmp_path / "second", face_models, "--face", "1")
    assert second["faces"][0]["box"] == info["faces"][1]["box"]


def test_crop_command_without_a_face_fails_clearly(face_models, tmp_path):
    gradient = np.repeat(np.linspace(0, 255, 320).astype(np.uint8)[None, :, None], 240, 0).repeat(3, 2)
    Image.fromarray(gradient).save(tmp_path / "gradient.png")
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "crop", "--source", str(tmp_path / "gradient.png"),
                           "--out", str(tmp_path / "out"), "--detector-models", str(face_models), "--no-download"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "no face found in" in proc.stderr and "gradient.png" in proc.stderr
    assert not (tmp_path / "out" / "crop.json").exists()


@pytest.mark.slow
def test_animate_crops_and_pastes_back(synthetic_weights, face_models, tmp_path):
    """Source s12 (375x500) is cropped, the d20 frames auto-cropped (forced: 480 squares count as crops), and
    the renders pasted back: frames have the source's size and equal it wherever the mask is 0."""
    frames = next(iter_video_frames(require(ASSETS / "driving" / "d20.mp4"), chunk=2, limit=2))
    write_lossless_video(tmp_path / "drive.mov", list(frames))
    out = tmp_path / "frames"
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--source", str(ASSETS / "source" / "s12.jpg"),
                           "--driving", str(tmp_path / "drive.mov"), "--out", str(out), "--weights", str(synthetic_weights),
                           "--detector-models", str(face_models), "--no-download", "--device", "cpu", "--precision", "fp32",
                           "--driving-crop", "on", "--eye-retargeting", "--lip-retargeting"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
    source = portrait("s12")
    assert len(written) == 2 and all(f.shape == source.shape for f in written)
    crop = crop_cli(ASSETS / "source" / "s12.jpg", tmp_path / "crop", face_models)
    m = np.vstack((np.array(crop["faces"][0]["affine_crop_to_original"]), [0, 0, 1]))
    mask = warp_mask(paste_mask(), torch.from_numpy(m)[None], source.shape[:2])[0].numpy()
    assert all(np.array_equal(f[mask == 0], source[mask == 0]) for f in written)
    assert all(np.abs(f[mask == 1].astype(int) - source[mask == 1]).mean() > 1 for f in written)  # the face was re-rendered


def test_contact_sheet_script(face_models, tmp_path):
    out = tmp_path / "sheet.png"
    images = [require(ASSETS / "source" / f"{n}.jpg") for n in ("s42", "s33")]
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "contact_sheet.py"), *map(str, images), "--out", str(out),
                           "--models", str(face_models), "--no-download", "--tile", "128"],
                          cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert Image.open(out).size == (4 * 128, 128)
