"""Motion nodes through a real ComfyUI server: each wraps its core function, anchors reach Retarget, a chain renders."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from liveportrait_core.motion import ops as motion_ops, regions as motion_regions
from liveportrait_core.motion.smoothing import smooth_motion
from liveportrait_core.motion.templates import load_template
from tests.support.comfy_server import image_outputs
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

OFFICIAL, SOURCE = "d1.pkl", "source_s6.png"  # d1: 16 frames at 30 fps


@pytest.fixture(scope="module")
def templates(comfy_server, assets_dir, conformance_dir):
    folder = comfy_server.base / "models" / "liveportrait_templates"
    shutil.copy(assets_dir / "driving" / OFFICIAL, folder / OFFICIAL)
    shutil.copy(conformance_dir / SOURCE, comfy_server.base / "input" / SOURCE)
    return folder


def test_motion_nodes_equal_the_core_functions(comfy_server, templates):
    g = Graph()
    d1 = (g.add("LPK_LoadMotionTemplate", template=OFFICIAL), 0)
    m = (g.add("LPK_SmoothMotion", motion=d1, method="one_euro", strength=0.5, observation_variance=3e-6), 0)
    m = (g.add("LPK_RetimeMotion", motion=m, fps=20.0), 0)
    m = (g.add("LPK_TrimMotion", motion=m, start=1, end=-1), 0)
    m = (g.add("LPK_LoopMotion", motion=m, times=2, ping_pong=True), 0)
    m = (g.add("LPK_ReverseMotion", motion=m), 0)
    m = (g.add("LPK_NeutralizeMotion", motion=m, region="eyes"), 0)
    m = (g.add("LPK_ScaleMotionRegions", motion=m, head_pose=0.5, eyes=1.0, mouth=2.0, rest=0.0), 0)
    m = (g.add("LPK_BlendMotion", motion_a=m, motion_b=(g.add("LPK_TrimMotion", motion=d1, start=0, end=1), 0),
               weight=0.25), 0)
    m = (g.add("LPK_CrossFadeMotion", motion_a=m, motion_b=d1, frames=4), 0)
    save = g.add("LPK_SaveMotionTemplate", motion=m, filename_prefix="ops/chain", format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    d1 = load_template(templates / OFFICIAL)
    e = smooth_motion(d1, "one_euro", strength=0.5)
    e = motion_ops.reverse(motion_ops.ping_pong(motion_ops.trim(motion_ops.retime(e, 20.0), 1, -1), 2))
    e = motion_regions.scale_regions(motion_regions.neutralize(e, "eyes"), 0, pose=0.5, eyes=1.0, lip=2.0, rest=0.0)
    e = motion_ops.cross_fade(motion_ops.blend(e, d1.select(slice(0, 1)), 0.25), d1, 4)
    got = load_template(templates / run.outputs(save)["text"][0])
    assert len(got) == len(e) and got.fps == e.fps == 20.0
    for name in ("R", "exp", "scale", "t"):
        torch.testing.assert_close(getattr(got, name), getattr(e, name).float(), rtol=1e-5, atol=1e-6)


def test_template_chain_renders_and_anchor_reaches_retarget(comfy_server, templates):
    g = Graph()
    mdl = (models(g), 0)
    source = (g.add("LPK_ExtractAppearance", models=mdl, image=(g.add("LoadImage", image=SOURCE), 0)), 0)
    m = (g.add("LPK_LoadMotionTemplate", template=OFFICIAL), 0)
    m = (g.add("LPK_SmoothMotion", motion=m, method="kalman", strength=0.5, observation_variance=3e-6), 0)
    m = (g.add("LPK_RetimeMotion", motion=m, fps=15.0), 0)
    m = (g.add("LPK_TrimMotion", motion=m, start=2, end=4), 0)
    anchored = (g.add("LPK_AnchorMotion", motion=m, anchor="frame", frame=0), 0)
    saves = []
    for motion in (m, anchored):
        retarget = g.add("LPK_Retarget", models=mdl, source=source, motion=motion, **DEFAULT_OPTIONS)
        stitched = g.add("LPK_Stitch", models=mdl, keypoints=(retarget, 0))
        render = g.add("LPK_Render", models=mdl, keypoints=(stitched, 0), chunk_size=2)
        saves.append(g.add("SaveImage", images=(render, 0), filename_prefix="ops/render"))
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    plain, anchored = ([np.asarray(Image.open(io.BytesIO(b))) for b in image_outputs(comfy_server, run, s)] for s in saves)
    assert [f.shape for f in plain] == [(512, 512, 3)] * 2
    np.testing.assert_array_equal(np.stack(anchored), np.stack(plain))  # anchoring frame 0 explicitly changes nothing


@pytest.mark.parametrize("node, inputs_, expected", [
    ("LPK_SmoothMotion", {"method": "gauss", "strength": 0.5, "observation_variance": 3e-6}, "method is 'gauss'"),
    ("LPK_RetimeMotion", {"fps": 0.0}, "Value 0.0 smaller than min of 1.0"),
    ("LPK_NeutralizeMotion", {"region": "nose"}, "region is 'nose'"),
])
def test_invalid_values_are_refused_before_running(comfy_server, templates, node, inputs_, expected):
    g = Graph()
    op = g.add(node, motion=(g.add("LPK_LoadMotionTemplate", template=OFFICIAL), 0), **inputs_)
    g.add("LPK_SaveMotionTemplate", motion=(op, 0), filename_prefix="ops/invalid", format="safetensors")
    status, answer = comfy_server.queue(g.prompt)
    assert status == 400
    errors = answer["node_errors"][op]["errors"]
    assert any(expected in f"{e['message']} {e['details']}" for e in errors), errors
