"""What the workflow tests share: the test inputs under the names the shipped workflows use, and 1-2 frame runs.

Shipped workflows name ``portrait.jpg`` / ``driving.mp4`` (ComfyUI's input folder) and ``d5.pkl``
(``models/liveportrait_templates``); the tests put real example inputs there (an even-sized portrait,
a driving clip with sound, an official template) and override the workflows' frame-count parameters.
"""
from __future__ import annotations

import json
import shutil

import pytest

from tests.comfy_server import REPO

WORKFLOWS = REPO / "workflows"
NAMES = sorted(p.stem for p in WORKFLOWS.glob("*.json"))
FRAMES = 2
# class_type -> input -> value: the parameters that bound each run to FRAMES frames
SHORT = {"ImageFromBatch": {"length": FRAMES}, "LPK_TrimMotion": {"end": FRAMES},
         "LPK_KeyframeTimeline": {"frame_count": FRAMES}, "LPK_RenderToFile": {"max_frames": FRAMES}}
GENERATOR = {"CheckpointLoaderSimple", "CLIPTextEncode", "EmptyLatentImage", "KSampler"}


def api_workflow(name: str) -> dict:
    return json.loads((WORKFLOWS / "api" / f"{name}.json").read_text())


def shortened(prompt: dict) -> dict:
    """``prompt`` with its frame-count parameters set to FRAMES."""
    for node in prompt.values():
        node["inputs"].update(SHORT.get(node["class_type"], {}))
    return prompt


def with_stand_in_image(prompt: dict, image: str = "portrait.jpg") -> dict:
    """``prompt`` with the image generator (checkpoint ... VAE Decode) replaced by Load Image of ``image``."""
    out = {}
    for node, data in prompt.items():
        if data["class_type"] == "VAEDecode":
            out[node] = {"class_type": "LoadImage", "inputs": {"image": image}, "_meta": {"title": "stand-in"}}
        elif data["class_type"] not in GENERATOR:
            out[node] = data
    return out


@pytest.fixture(scope="module")
def workflow_inputs(comfy_server, face_models, assets_dir):
    """The shipped workflows' inputs in the test server's folders (the detector link is removed afterwards).

Import ``face_models`` from tests.faces_support next to this fixture.
"""
    base = comfy_server.base
    shutil.copy(assets_dir / "source" / "s42.jpg", base / "input" / "portrait.jpg")  # 512x512: H.264 needs even sizes
    shutil.copy(assets_dir / "driving" / "d18.mp4", base / "input" / "driving.mp4")  # 30 fps, with sound
    shutil.copy(assets_dir / "driving" / "d5.pkl", base / "models" / "liveportrait_templates" / "d5.pkl")
    link = base / "models" / "liveportrait" / "mediapipe"
    made = not link.exists()
    if made:
        link.symlink_to(face_models / "mediapipe")
    yield base
    if made:
        link.unlink()
