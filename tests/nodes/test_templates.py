"""Motion templates through a real ComfyUI server: official .pkl in, ours and the official layout out."""
from __future__ import annotations

import shutil

import pytest
import torch

from liveportrait_core.motion.templates import load_template
from tests.support.lp_prompts import Graph, models

OFFICIAL = "d1.pkl"  # 16 frames at 30 fps, with eye / lip ratio lists


@pytest.fixture(scope="module")
def templates(comfy_server, assets_dir):
    folder = comfy_server.base / "models" / "liveportrait_templates"
    shutil.copy(assets_dir / "driving" / OFFICIAL, folder / OFFICIAL)
    return folder


def saved_template(run, node: str, folder):
    return folder / run.outputs(node)["text"][0]


@pytest.mark.parametrize("format", ["safetensors", "pkl"])
def test_official_template_round_trips(comfy_server, templates, format):
    g = Graph()
    loaded = g.add("LPK_LoadMotionTemplate", template=OFFICIAL)
    save = g.add("LPK_SaveMotionTemplate", motion=(loaded, 0), filename_prefix=f"roundtrip/{format}", format=format)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    path = saved_template(run, save, templates)
    assert path.suffix == f".{format}" and path.parent.name == "roundtrip"
    original, copy = load_template(templates / OFFICIAL), load_template(path)
    assert copy.fps == original.fps == 30
    for name, tensor in original.tensors().items():
        torch.testing.assert_close(copy.tensors()[name], tensor, rtol=0, atol=0)


def test_extracted_motion_is_saved_and_listed(comfy_server, templates, conformance_dir):
    shutil.copy(conformance_dir / "driving_s0.png", comfy_server.base / "input" / "driving_s0.png")
    g = Graph()
    motion = g.add("LPK_ExtractMotion", models=(models(g), 0), images=(g.add("LoadImage", image="driving_s0.png"), 0), fps=24.0)
    save = g.add("LPK_SaveMotionTemplate", motion=(motion, 0), filename_prefix="extracted", format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    path = saved_template(run, save, templates)
    assert len(load_template(path)) == 1 and load_template(path).fps == 24.0
    listed = comfy_server.object_info()["LPK_LoadMotionTemplate"]["input"]["required"]["template"][1]["options"]
    assert OFFICIAL in listed and path.name in listed
