"""The README's first command (scripts/run_main.sh) in a scratch folder: offline it names what to provide;
with the (synthetic) weights in place it writes a playable video with the driving clip's frames, fps and sound."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import sys

import av
import pytest

from tests.support.comfy_server import REPO, require_comfyui
from tests.conftest import WEIGHT_FILES
from tests.support.faces import face_models  # noqa: F401  (fixture)

SCRIPT = REPO / "scripts" / "run_main.sh"
sys.path.insert(0, str(REPO / "scripts"))
import run_main as main_job  # noqa: E402
DEAD_PROXY = "http://127.0.0.1:9"  # refuses connections: no download can reach the network
FRAMES = 2


def run_main(scratch: Path, assets_dir: Path, weights: Path, env: dict[str, str] | None = None):
    cmd = ["bash", str(SCRIPT), str(assets_dir / "source" / "s42.jpg"), str(assets_dir / "driving" / "d18.mp4"),
           "--frames", str(FRAMES), "--weights", str(weights), "--work", str(scratch / "work"), "--out", str(scratch / "out")]
    clean = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "LIVEPORTRAIT_WEIGHTS")}
    return subprocess.run(cmd, cwd=scratch, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_offline_it_names_the_files_and_folders_to_provide(tmp_path, assets_dir):
    require_comfyui()
    weights = tmp_path / "weights"
    blocked = {name: DEAD_PROXY for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")}
    proc = run_main(tmp_path, assets_dir, weights, {**blocked, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stdout == ""
    assert f"weights not found in {weights}" in proc.stderr
    for name in WEIGHT_FILES:
        assert name in proc.stderr
    assert str(weights / "mediapipe" / "face_landmarker.task") in proc.stderr
    assert not (tmp_path / "work").exists(), "ComfyUI was started although the models are missing"


@pytest.mark.server  # by hand: scripts/run_main.sh starts its own ComfyUI, not through a server fixture
def test_with_weights_it_writes_the_video_and_prints_its_path(tmp_path, assets_dir, synthetic_weights, face_models):  # noqa: F811
    require_comfyui()
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in WEIGHT_FILES:
        (weights / name).symlink_to(synthetic_weights / name)
    (weights / "mediapipe").symlink_to(face_models / "mediapipe")
    proc = run_main(tmp_path, assets_dir, weights, {"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    video = Path(proc.stdout.strip())
    assert video.is_file() and video.suffix == ".mp4" and video.is_relative_to(tmp_path / "out")
    with av.open(str(video)) as container:
        assert container.streams.audio, "the driving clip's sound is missing"
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(30.0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == FRAMES and frames[0].shape == (512, 512, 3)


def test_example_inputs_come_from_shared_assets_or_a_named_download(tmp_path, assets_dir, monkeypatch):
    assert main_job.example_input(main_job.EXAMPLE_SOURCE, tmp_path) == assets_dir / "source" / "s9.jpg"
    monkeypatch.setattr(main_job, "SHARED_ASSETS", tmp_path / "absent")
    monkeypatch.setattr(main_job, "EXAMPLES_URL", "http://127.0.0.1:9/examples")  # refuses connections
    with pytest.raises(FileNotFoundError, match=r"driving/d20.mp4 is neither in .*absent nor downloadable from "
                                                r"http://127.0.0.1:9/examples .*pass SOURCE and DRIVING"):
        main_job.example_input(main_job.EXAMPLE_DRIVING, tmp_path / "cache")
    (tmp_path / "cache" / "driving").mkdir(parents=True)
    (tmp_path / "cache" / "driving" / "d20.mp4").write_bytes(b"cached")  # fetched earlier: no network needed
    assert main_job.example_input(main_job.EXAMPLE_DRIVING, tmp_path / "cache").read_bytes() == b"cached"
