"""``python -m liveportrait_core edit``: the official still-image slider path, cropped and pasted back."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from liveportrait_core.cli.edit import option_name
from liveportrait_core.cli.main import main
from liveportrait_core.editing.sliders import SLIDERS, ExpressionSliders
from liveportrait_core.faces import paste_mask, warp_mask
from liveportrait_core.faces.face_tracks import face_tracks
from liveportrait_core.pipeline.animation import detect_frames
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.pipeline.render import to_uint8
from liveportrait_core.pipeline.source_frames import SourceFrames
from liveportrait_core.pipeline.still_edit import edit_still
from tests.conftest import ASSETS, REPO, require
from tests.support.faces import editing, face_models, mediapipe_detector  # noqa: F401


@pytest.mark.slow
def test_neutral_edit_is_the_official_still_image_render(editing, conformance_dir, synthetic_weights):
    """source_s6.png as an already-cropped source: neutral sliders give the golden keypoints and their render."""
    engine = LivePortraitEngine.from_folder(synthetic_weights, device="cpu", precision="fp32", download=False)
    picture = SourceFrames.image(conformance_dir / "source_s6.png")
    result = edit_still(engine, picture, None, ExpressionSliders())
    neutral = list(editing.full("SLIDER.cases")).index("neutral")
    golden = torch.from_numpy(editing.full("SLIDER.x_d_final")[neutral]).float()
    torch.testing.assert_close(result.keypoints, golden, rtol=0, atol=1e-5)
    state = engine.source((torch.from_numpy(picture.read([0]).copy()).permute(0, 3, 1, 2).float() / 255).contiguous())
    reference = to_uint8(next(engine.render(state, golden)))[0].numpy()
    diff = np.abs(result.frames[0].numpy().astype(int) - reference)
    assert result.frames.shape == (1, 512, 512, 3) and diff.max() <= 1 and (diff > 0).mean() <= 0.005


@pytest.mark.slow
def test_an_edit_changes_pixels_only_inside_the_pasted_face(synthetic_weights, face_models, mediapipe_detector, tmp_path):
    source = require(ASSETS / "source" / "s12.jpg")
    out = tmp_path / "smile.png"
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "edit", "--source", str(source), "--out", str(out),
                           "--weights", str(synthetic_weights), "--detector-models", str(face_models), "--no-download",
                           "--device", "cpu", "--precision", "bf16", "--smile", "1.0", "--gaze-x", "-10"],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "smile=1" in proc.stderr and "gaze_x=-10" in proc.stderr
    picture = SourceFrames.image(source)
    original, edited = picture.read([0])[0], np.asarray(Image.open(out))
    (track,) = face_tracks(detect_frames(mediapipe_detector, picture), "largest")
    mask = warp_mask(paste_mask(), track.crop_to_original, picture.size)[0].numpy()
    assert edited.shape == original.shape
    assert np.array_equal(edited[mask == 0], original[mask == 0])
    assert np.abs(edited[mask == 1].astype(int) - original[mask == 1]).mean() > 1


def test_out_of_range_sliders_are_clear_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["edit", "--source", "x.png", "--out", str(tmp_path / "o.png"), "--smile", "5"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--smile" in err and "smile must lie in [-0.3, 1.3], got 5" in err
    with pytest.raises(SystemExit):
        main(["edit", "--source", "x.png", "--out", str(tmp_path / "o.png"), "--yaw", "ten"])
    assert "expected a number, got 'ten'" in capsys.readouterr().err


def test_help_lists_every_slider_with_its_range(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["edit", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name, spec in SLIDERS.items():
        assert f"{option_name(name)} V {spec.label}: {spec.minimum:g} to {spec.maximum:g}" in text
