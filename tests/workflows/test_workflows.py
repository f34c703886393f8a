"""The shipped workflows: up to date with their definitions, and every API twin runs on a real ComfyUI server.

Each API twin runs end to end with the synthetic weights, bounded to 2 frames through its own parameters
(tests/support/workflows.py). The text-to-image workflow needs an image-generator checkpoint the test host
does not have: its full prompt is checked to be accepted by ``POST /prompt`` (with an empty placeholder
checkpoint file, which then fails to load), and its LivePortrait part runs with a stand-in portrait in place
of the generated image.
"""
from __future__ import annotations

import io
import sys

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.comfy_server import REPO
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.workflows import (FRAMES, NAMES, WORKFLOWS, api_workflow, shortened, with_stand_in_image,
                                    workflow_inputs)  # noqa: F401  (fixture)

sys.path.insert(0, str(REPO / "scripts"))
import build_workflows  # noqa: E402

GENERATED = "text_to_image_animate"
LIVE = "live_webcam"  # shows its frames with Preview Image: a live graph should not fill the output folder


def test_workflow_files_match_their_definitions(comfy_server):
    assert build_workflows.stale(build_workflows.render(comfy_server.object_info())) == [], \
        "run: .venv/bin/python scripts/build_workflows.py"


@pytest.mark.parametrize("name", NAMES)
def test_workflow_ships_with_api_twin_and_thumbnail(name):
    assert (WORKFLOWS / "api" / f"{name}.json").is_file()
    with Image.open(WORKFLOWS / f"{name}.jpg") as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.width >= 256


def test_generator_workflow_is_accepted(comfy_server, workflow_inputs):  # noqa: F811
    checkpoint = comfy_server.base / "models" / "checkpoints" / api_workflow(GENERATED)["1"]["inputs"]["ckpt_name"]
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.write_bytes(b"")  # a placeholder: validation passes, loading fails
    try:
        run = comfy_server.run(shortened(api_workflow(GENERATED)))
    finally:
        checkpoint.unlink()
    assert run.status == "error" and run.error["node_type"] == "CheckpointLoaderSimple", run.messages[-1]


def _expected_fps(prompt: dict) -> float:
    """d18.mp4 and d5.pkl run at 30 fps; the keyframe timeline at its default 25."""
    return 25.0 if any(n["class_type"] == "LPK_KeyframeTimeline" for n in prompt.values()) else 30.0


@pytest.mark.parametrize("name", NAMES)
def test_api_twin_runs(comfy_server, workflow_inputs, name, tmp_path):  # noqa: F811
    prompt = shortened(api_workflow(name))
    if name == GENERATED:
        prompt = with_stand_in_image(prompt)
    run = comfy_server.run(prompt)
    assert run.status == "success", run.messages[-1]
    kept = ("output", "temp") if name == LIVE else ("output",)
    saved = [item for m in run.of_type("executed") for item in m["output"].get("images", []) if item.get("type") in kept]
    assert saved, f"{name} saved nothing"
    for item in saved:
        data = comfy_server.view(item["filename"], item["subfolder"], item["type"])
        if item["filename"].endswith(".mp4"):
            _check_video(data, tmp_path / item["filename"], _expected_fps(prompt),
                         audio=any(n["class_type"] in ("LoadVideo", "LPK_RenderToFile") for n in prompt.values()))
        else:
            assert np.asarray(Image.open(io.BytesIO(data))).shape == (512, 512, 3)


def _check_video(data: bytes, path, fps: float, audio: bool) -> None:
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert bool(container.streams.audio) == audio
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(fps)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == FRAMES and frames[0].shape == (512, 512, 3)
