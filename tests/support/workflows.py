"""What the workflow tests share: the test inputs under the names the shipped workflows use, and 1-2 frame runs.

Shipped workflows name ``portrait.jpg`` / ``driving.mp4`` / ``two_faces.jpg`` / ``animal.jpg`` / ``webcam.png``
(ComfyUI's input folder), ``d5.pkl`` (``models/liveportrait_templates``) and ``RealESRGAN_x2plus.pth`` (``models/upscale_models``); the
tests put real example inputs there (an even-sized portrait, a driving clip with sound, two portraits side by side, the
example dog, an official template, a tiny generated 2x upscale model standing in for Real-ESRGAN's) and override the
workflows' frame-count parameters.
"""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from liveportrait_core.media import VideoWriter, iter_video_frames
from tests.support.comfy_server import REPO
from tests.support.faces import portrait
from tests.support.upscale_models import write_upscale_model

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
    """``prompt`` with its frame-count parameters set to FRAMES (those already asking for fewer, such as one frame
    picked from a batch, stay)."""
    for node in prompt.values():
        inputs = node["inputs"]
        inputs.update({k: v for k, v in SHORT.get(node["class_type"], {}).items() if not 0 < inputs.get(k, 0) < v})
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


def side_by_side(left: str, right: str, size: int = 512) -> np.ndarray:
    """Two example portraits, each scaled to half the width, on a ``size`` square (MediaPipe finds both faces)."""
    canvas = np.full((size, size, 3), 40, np.uint8)
    for i, name in enumerate((left, right)):
        image = Image.fromarray(portrait(name))
        w = size // 2
        h = min(size, round(image.height * w / image.width))
        top = (size - h) // 2
        canvas[top:top + h, i * w:(i + 1) * w] = np.asarray(image.resize((w, h)))
    return canvas


@pytest.fixture(scope="module")
def workflow_inputs(comfy_server, server_face_models, assets_dir):
    """The shipped workflows' inputs in the test server's folders, with the MediaPipe model linked in.

Import ``face_models`` and ``server_face_models`` from tests.support.faces next to this fixture.
"""
    base = comfy_server.base
    shutil.copy(assets_dir / "source" / "s42.jpg", base / "input" / "portrait.jpg")  # 512x512: H.264 needs even sizes
    shutil.copy(assets_dir / "driving" / "d18.mp4", base / "input" / "driving.mp4")  # 30 fps, with sound
    Image.fromarray(side_by_side("s42", "s12")).save(base / "input" / "two_faces.jpg", quality=95)
    shutil.copy(assets_dir / "source" / "s33.jpg", base / "input" / "animal.jpg")  # the dog of workflow_defs.ANIMAL_BOX
    shutil.copy(assets_dir / "driving" / "d5.pkl", base / "models" / "liveportrait_templates" / "d5.pkl")
    write_upscale_model(base / "models" / "upscale_models" / "RealESRGAN_x2plus.pth")
    camera = next(iter_video_frames(assets_dir / "driving" / "d18.mp4", chunk=1))[0]
    Image.fromarray(camera).save(base / "input" / "webcam.png")  # what Webcam Capture would have captured
    s18 = assets_dir / "source" / "s18.mp4"  # 1280x720, 30 fps, with sound: its first frames, 512x512 about the face
    with VideoWriter(base / "input" / "source.mp4", 30, audio_from=s18) as writer:
        first = next(iter_video_frames(s18, chunk=FRAMES + 1, limit=FRAMES + 1))
        writer.write(np.ascontiguousarray(first[:, :512, 514:1026]))
    return base
