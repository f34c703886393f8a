"""Expression editing nodes through a real ComfyUI server: sliders, reference expressions, keyframes, save/load."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import torch

from liveportrait_core.editing.apply_sliders import expression_offset
from liveportrait_core.editing.slider_files import load_sliders
from liveportrait_core.editing.sliders import SLIDERS, ExpressionSliders
from liveportrait_core.motion.templates import load_template
from tests.support.comfy_server import REPO, image_outputs
from tests.support.lp_prompts import Graph, models

SOURCE, REFERENCE = "source_s6.png", "driving_s0.png"
NEUTRAL = {name: (-1.0 if spec.neutral is None else spec.neutral) for name, spec in SLIDERS.items()}
EDITED = {**NEUTRAL, "smile": 1.0, "aaa": 60.0, "yaw": 10.0}


@pytest.fixture(scope="module")
def inputs(comfy_server, conformance_dir):
    for name in (SOURCE, REFERENCE):
        shutil.copy(conformance_dir / name, comfy_server.base / "input" / name)


def frames_of(server, run, node: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(data))) for data in image_outputs(server, run, node)]


def source_graph() -> tuple[Graph, tuple[str, int], tuple[str, int]]:
    g = Graph()
    m = (models(g), 0)
    source = (g.add("LPK_ExtractAppearance", models=m, image=(g.add("LoadImage", image=SOURCE), 0)), 0)
    return g, m, source


def rendered(g: Graph, m, keypoints, prefix: str, chunk_size: int = 1) -> str:
    """Stitch -> Render -> SaveImage of ``keypoints``; the SaveImage node id."""
    stitched = g.add("LPK_Stitch", models=m, keypoints=keypoints)
    render = g.add("LPK_Render", models=m, keypoints=(stitched, 0), chunk_size=chunk_size)
    return g.add("SaveImage", images=(render, 0), filename_prefix=prefix)


def test_still_edit_neutral_is_the_still_path_and_sliders_change_it(comfy_server, inputs, synthetic_weights,
                                                                  conformance_dir, tmp_path):
    g, m, source = source_graph()
    neutral = g.add("LPK_ExpressionEditor", models=m, source=source, preview=True, **NEUTRAL)
    edited = g.add("LPK_ExpressionEditor", models=m, source=source, preview=False, **EDITED)
    save_neutral, save_edited = rendered(g, m, (neutral, 0), "neutral"), rendered(g, m, (edited, 0), "edited")
    saved = g.add("LPK_SaveExpression", expression=(edited, 1), filename_prefix="expr/smile", description="test")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    (plain,), (changed,) = frames_of(comfy_server, run, save_neutral), frames_of(comfy_server, run, save_edited)
    assert plain.shape == (512, 512, 3) and np.abs(plain.astype(int) - changed).max() > 10

    cli = subprocess.run([sys.executable, "-m", "liveportrait_core", "edit", "--no-crop", "--no-download",
                          "--source", str(conformance_dir / SOURCE), "--weights", str(synthetic_weights),
                          "--out", str(tmp_path / "still.png")], cwd=REPO, capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr[-3000:]
    # the CLI's still path (crop-free render + paste-back code) rounds a few pixels differently
    assert np.abs(plain.astype(int) - np.asarray(Image.open(tmp_path / "still.png"))).max() <= 1
    (shown,) = frames_of(comfy_server, run, neutral)  # the editor's preview is the stitched render
    np.testing.assert_array_equal(shown, plain)

    name = run.outputs(saved)["text"][0]
    state, metadata = load_sliders(comfy_server.base / "models" / "liveportrait_templates" / name)
    assert state.changed() == {"smile": 1.0, "aaa": 60.0, "yaw": 10.0} and metadata["description"] == "test"
    info = comfy_server.object_info()
    assert name in info["LPK_LoadExpression"]["input"]["required"]["expression"][1]["options"]
    assert name not in info["LPK_LoadMotionTemplate"]["input"]["required"]["template"][1]["options"]

    g = Graph()
    loaded = g.add("LPK_LoadExpression", expression=name)
    again = g.add("LPK_SaveExpression", expression=(loaded, 0), filename_prefix="expr/again", description="")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    copy, _ = load_sliders(comfy_server.base / "models" / "liveportrait_templates" / run.outputs(again)["text"][0])
    assert copy == state


def test_keyframe_timeline_renders_frames_without_driving_video(comfy_server, inputs):
    g, m, source = source_graph()
    keyframes = json.dumps([{"frame": 0}, {"frame": 1, "smile": 1.0, "aaa": 60, "easing": "ease_in_out"}])
    timeline = g.add("LPK_KeyframeTimeline", models=m, source=source, keyframes=keyframes, frame_count=2, fps=12.0)
    neutral = g.add("LPK_ExpressionEditor", models=m, source=source, preview=True, **NEUTRAL)
    save = rendered(g, m, (timeline, 0), "timeline", chunk_size=2)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    first, last = frames_of(comfy_server, run, save)
    (plain,) = frames_of(comfy_server, run, neutral)
    assert np.abs(first.astype(int) - plain).max() <= 2  # keyframe 0 is neutral (batched render: rounding only)
    assert np.abs(last.astype(int) - first).max() > 10


def test_keyframe_timeline_motion_is_the_slider_edits_as_driving_motion(comfy_server, inputs):
    g, m, source = source_graph()
    keyframes = json.dumps([{"frame": 0}, {"frame": 2, "smile": 1.0, "aaa": 60, "yaw": 10}])
    timeline = g.add("LPK_KeyframeTimeline", models=m, source=source, keyframes=keyframes, frame_count=3, fps=12.0)
    save = g.add("LPK_SaveMotionTemplate", motion=(timeline, 1), filename_prefix="timeline", format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    motion = load_template(comfy_server.base / "models" / "liveportrait_templates" / run.outputs(save)["text"][0])
    assert len(motion) == 3 and motion.fps == 12.0
    edit = expression_offset(ExpressionSliders(smile=1.0, aaa=60.0), 1)[0].float()
    torch.testing.assert_close(motion.exp[2] - motion.exp[0], edit, rtol=0, atol=1e-6)
    torch.testing.assert_close(motion.exp[1] - motion.exp[0], edit / 2, rtol=0, atol=1e-6)  # linear: half way
    yaw = torch.einsum("ij,ik->jk", motion.R[0], motion.R[2])  # R_0ᵀ R_2: the added rotation
    assert abs(float(torch.rad2deg(torch.arccos((yaw.trace() - 1) / 2))) - 10.0) < 0.05


def test_expression_from_reference_changes_the_face(comfy_server, inputs):
    g, m, source = source_graph()
    reference = g.add("LPK_ExtractMotion", models=m, images=(g.add("LoadImage", image=REFERENCE), 0), fps=25.0)
    taken = g.add("LPK_ExpressionFromReference", source=source, reference=(reference, 0), region="exp", ratio=1.0)
    neutral = g.add("LPK_ExpressionEditor", models=m, source=source, preview=True, **NEUTRAL)
    save = rendered(g, m, (taken, 0), "reference")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    (frame,), (plain,) = frames_of(comfy_server, run, save), frames_of(comfy_server, run, neutral)
    assert np.abs(frame.astype(int) - plain).max() > 3  # synthetic weights move the face only a little


@pytest.mark.parametrize("node, inputs_, expected", [
    ("LPK_ExpressionEditor", {**NEUTRAL, "smile": 5.0}, "Value 5.0 bigger than max of 1.3"),
    ("LPK_KeyframeTimeline", {"keyframes": "[{frame: 0}]", "frame_count": 0, "fps": 25.0}, "not valid JSON"),
    ("LPK_KeyframeTimeline", {"keyframes": '[{"frame": 0, "grin": 99}]', "frame_count": 0, "fps": 25.0},
     "slider 'grin' (grin) must lie in [0, 15]"),
    ("LPK_KeyframeTimeline", {"keyframes": '[{"frame": 3}, {"frame": 1}]', "frame_count": 0, "fps": 25.0},
     "increasing order"),
])
def test_invalid_values_are_refused_before_running(comfy_server, inputs, node, inputs_, expected):
    g, m, source = source_graph()
    extra = {"preview": False} if node == "LPK_ExpressionEditor" else {}
    edit = g.add(node, models=m, source=source, **extra, **inputs_)
    rendered(g, m, (edit, 0), "invalid")
    status, answer = comfy_server.queue(g.prompt)
    assert status == 400
    errors = answer["node_errors"][edit]["errors"]
    assert any(expected in f"{e['message']} {e['details']}" for e in errors), errors
