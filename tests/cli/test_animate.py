"""The command line, run as a user runs it, reproduces the official end-to-end golden frames."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO


def run_cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", *args], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"CLI failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return proc


def animate(weights: Path, source: Path, driving: Path, out: Path, *extra: str) -> list[np.ndarray]:
    run_cli("animate", "--source", str(source), "--driving", str(driving), "--weights", str(weights), "--out", str(out),
            "--no-crop", "--precision", "fp32", "--device", "cpu", "--no-download", *extra)
    return [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]


def write_lossless_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    """A video whose decoded RGB equals the input exactly (PNG codec in QuickTime)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "rgb24"
        for f in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        container.mux(stream.encode())


@pytest.fixture(scope="module")
def two_frame_video(conformance_dir, tmp_path_factory) -> Path:
    frames = [np.asarray(Image.open(conformance_dir / n).convert("RGB")) for n in ("driving_s0.png", "driving_s0_flip.png")]
    path = tmp_path_factory.mktemp("driving") / "two_frames.mov"
    write_lossless_video(path, frames)
    return path


@pytest.mark.slow
def test_image_driving_matches_golden(golden, synthetic_weights, conformance_dir, tmp_path):
    frames = animate(synthetic_weights, conformance_dir / "source_s6.png", conformance_dir / "driving_s0.png", tmp_path / "out")
    assert len(frames) == 1
    golden.check("E2E.image.frame0.out_uint8", frames[0])


@pytest.mark.slow
def test_video_driving_and_its_template_match_golden(golden, synthetic_weights, conformance_dir, two_frame_video, tmp_path):
    template = tmp_path / "motion.safetensors"
    frames = animate(synthetic_weights, conformance_dir / "source_s6.png", two_frame_video, tmp_path / "video",
                     "--save-template", str(template))
    assert len(frames) == 2
    golden.check("E2E.video_expr.frame1.out_uint8", frames[1])
    # frame 0 of a relative video drive is the source re-rendered: it equals the image-driving golden frame's pose
    assert template.exists()
    replay = animate(synthetic_weights, conformance_dir / "source_s6.png", template, tmp_path / "replay")
    assert len(replay) == 2
    for a, b in zip(frames, replay):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    golden.check("E2E.video_expr.frame1.out_uint8", replay[1])


@pytest.mark.slow
def test_video_output_keeps_fps_and_frame_count(synthetic_weights, conformance_dir, two_frame_video, tmp_path):
    out = tmp_path / "result.mp4"
    animate(synthetic_weights, conformance_dir / "source_s6.png", two_frame_video, out, "--driving-option", "pose-friendly")
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert float(stream.average_rate) == pytest.approx(25.0)
    assert len(decoded) == 2 and decoded[0].shape == (512, 512, 3)


def test_missing_weights_give_clear_error(conformance_dir, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--source", str(conformance_dir / "source_s6.png"),
                           "--driving", str(conformance_dir / "driving_s0.png"), "--weights", str(tmp_path / "nothing"),
                           "--out", str(tmp_path / "o"), "--no-crop", "--no-download"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode != 0
    assert str(tmp_path / "nothing") in proc.stderr and "appearance_feature_extractor" in proc.stderr
