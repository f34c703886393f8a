"""Face cropping and paste-back nodes through a real ComfyUI server (MediaPipe detector)."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support.comfy_server import REPO, image_outputs
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

PORTRAIT, DRIVING, VIDEO = "s6.jpg", "driving_s0.png", "d18.mp4"
# PORTRAIT under a name no other prompt uses: ComfyUI reports a node's UI output only when the node runs, and a prompt
# of another module (test_paste_back_sizes) may have left the same crop of PORTRAIT cached
UNCACHED_PORTRAIT = "s6_uncached.jpg"


@pytest.fixture(scope="module")
def inputs(comfy_server, server_face_models, assets_dir, conformance_dir):  # noqa: F811
    shutil.copy(assets_dir / "source" / PORTRAIT, comfy_server.base / "input" / PORTRAIT)
    shutil.copy(assets_dir / "source" / PORTRAIT, comfy_server.base / "input" / UNCACHED_PORTRAIT)
    shutil.copy(assets_dir / "driving" / VIDEO, comfy_server.base / "input" / VIDEO)
    shutil.copy(conformance_dir / DRIVING, comfy_server.base / "input" / DRIVING)


def detector(g: Graph) -> str:
    return g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)


def crop(g: Graph, images, frames: str = "images") -> str:
    return g.add("LPK_CropFaces", detector=(detector(g), 0), images=images, frames=frames, face=0, scale=2.3, vx_ratio=0.0,
                 vy_ratio=-0.125, rotate=True, on_missing_face="fail")


def portraits(g: Graph, count: int, name: str = PORTRAIT):
    image = (g.add("LoadImage", image=name), 0)
    return image if count == 1 else (g.add("RepeatImageBatch", image=image, amount=count), 0)


def render_crop(g: Graph, cropped: str) -> str:
    """The nodes that animate the face ``cropped`` by the driving image, up to Render (default options, chunks of 4)."""
    m = (models(g), 0)
    source = g.add("LPK_ExtractAppearance", models=m, image=(cropped, 0), crop=(cropped, 1))
    motion = g.add("LPK_ExtractMotion", models=m, images=(g.add("LoadImage", image=DRIVING), 0), fps=25.0)
    retarget = g.add("LPK_Retarget", models=m, source=(source, 0), motion=(motion, 0), **DEFAULT_OPTIONS)
    stitched = g.add("LPK_Stitch", models=m, keypoints=(retarget, 0))
    return g.add("LPK_Render", models=m, keypoints=(stitched, 0), chunk_size=4)


def test_crop_animate_paste_back_equals_cli(comfy_server, inputs, synthetic_weights, face_models, assets_dir,  # noqa: F811
                                            conformance_dir, tmp_path):
    g = Graph()
    original = portraits(g, 1, UNCACHED_PORTRAIT)
    cropped = crop(g, original)
    render = render_crop(g, cropped)
    pasted = g.add("LPK_PasteBack", frames=(render, 0), crop=(cropped, 1), original=original, feather=16.0,
                   frame_policy="shortest")
    save = g.add("SaveImage", images=(pasted, 0), filename_prefix="pasted")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    assert len(run.outputs(cropped)["images"]) == 1  # the landmark preview
    [ours] = [np.asarray(Image.open(io.BytesIO(b))) for b in image_outputs(comfy_server, run, save)]

    out = tmp_path / "cli"
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--no-download", "--detector", "mediapipe",
                           "--detector-models", str(face_models), "--weights", str(synthetic_weights),
                           "--source", str(assets_dir / "source" / PORTRAIT), "--driving", str(conformance_dir / DRIVING),
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [expected] = [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]
    assert ours.shape == expected.shape == (725, 725, 3)
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("policy, count", [("shortest", 2), ("loop", 3), ("ping-pong", 3), ("hold last", 3)])
def test_paste_back_pairs_frames_by_policy(comfy_server, inputs, policy, count):
    g = Graph()
    three = crop(g, portraits(g, 3))  # three 512 crops stand in for three rendered frames
    two = portraits(g, 2)
    pasted = g.add("LPK_PasteBack", frames=(three, 0), crop=(crop(g, two), 1), original=two, feather=16.0,
                   frame_policy=policy)
    preview = g.add("PreviewImage", images=(pasted, 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    assert len(run.outputs(preview)["images"]) == count


def test_paste_back_refuses_a_crop_of_other_frames(comfy_server, inputs):
    g = Graph()  # a crop of one still picture fits any frames of its size; a crop of several frames only those
    two = crop(g, portraits(g, 2))
    pasted = g.add("LPK_PasteBack", frames=(two, 0), crop=(two, 1), original=portraits(g, 3), feather=16.0,
                   frame_policy="loop")
    g.add("PreviewImage", images=(pasted, 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error" and run.error["node_id"] == pasted
    assert "input 'crop' describes 2 frame(s) but input 'original' holds 3" in run.error["exception_message"]
    comfy_server.get("/system_stats")


def test_driving_crops_carry_eye_and_lip_ratios(comfy_server, inputs):
    g = Graph()
    components = g.add("GetVideoComponents", video=(g.add("LoadVideo", file=VIDEO), 0))
    frames = (g.add("ImageFromBatch", image=(components, 0), batch_index=0, length=3), 0)
    cropped = g.add("LPK_CropDrivingFaces", detector=(detector(g), 0), images=frames, box="average", face=0, scale=2.2,
                    vy_ratio=-0.1, on_missing_face="fail")
    motion = g.add("LPK_ExtractMotion", models=(models(g), 0), images=(cropped, 0), fps=(components, 2), crop=(cropped, 1))
    save = g.add("LPK_SaveMotionTemplate", motion=(motion, 0), filename_prefix="driving/cropped", format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    from liveportrait_core.motion.templates import load_template

    motion = load_template(comfy_server.base / "models" / "liveportrait_templates" / run.outputs(save)["text"][0])
    assert motion.fps == pytest.approx(30.0)
    assert motion.eye_ratio.shape == (3, 2) and motion.lip_ratio.shape == (3, 1)
    assert bool((motion.eye_ratio > 0).all())
