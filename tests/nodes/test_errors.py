"""Failures through a real ComfyUI server say what and where, and leave the server healthy; interrupts stop renders."""
from __future__ import annotations

import pickle
import shutil
import uuid

import pytest

from tests.support.comfy_server import ON_GPU
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, animation, models

SOURCE, DRIVING = "source_s6.png", "driving_s0.png"


@pytest.fixture(scope="module")
def inputs(comfy_server, conformance_dir):
    for name in (SOURCE, DRIVING):
        shutil.copy(conformance_dir / name, comfy_server.base / "input" / name)


@pytest.fixture
def healthy(comfy_server, inputs):
    """After the test: the server still answers and runs a (cheap) prompt whose output node is new."""
    yield
    comfy_server.get("/system_stats")
    g = Graph()
    motion = g.add("LPK_ExtractMotion", models=(models(g), 0), images=(g.add("LoadImage", image=DRIVING), 0), fps=25.0)
    save = g.add("LPK_SaveMotionTemplate", motion=(motion, 0), filename_prefix=f"health/{uuid.uuid4().hex[:8]}",
                 format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    assert save in run.executed_nodes


def motion_prompt(variant: str = "human") -> tuple[dict, str]:
    """Load models -> Extract Motion -> Save Motion Template; returns the prompt and the loader's id."""
    g = Graph()
    loader = models(g, variant=variant)
    motion = g.add("LPK_ExtractMotion", models=(loader, 0), images=(g.add("LoadImage", image=DRIVING), 0), fps=25.0)
    g.add("LPK_SaveMotionTemplate", motion=(motion, 0), filename_prefix="errors/motion", format="safetensors")
    return g.prompt, loader


def test_wrong_checkpoint_names_network_and_file(comfy_server, synthetic_weights, healthy):
    # the animals come from "animal/": put a warping checkpoint where the motion extractor goes there
    motion = comfy_server.base / "models" / "liveportrait" / "animal" / "motion_extractor.pth"
    motion.unlink()
    try:
        motion.symlink_to(synthetic_weights / "warping_module.pth")
        prompt, loader = motion_prompt(variant="animals")
        run = comfy_server.run(prompt)
    finally:
        motion.unlink(missing_ok=True)
        motion.symlink_to(synthetic_weights / "motion_extractor.pth")
    assert run.status == "error"
    error = run.error
    assert (error["node_id"], error["node_type"]) == (loader, "LPK_LoadModels")
    assert "animal/motion_extractor.pth does not fit the LivePortrait network 'motion_extractor'" in error["exception_message"]
    assert "looks like warping_module.pth" in error["exception_message"]


def test_malicious_template_is_refused_unexecuted(comfy_server, healthy, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os
            return os.system, (f"touch {marker}",)

    evil = comfy_server.base / "models" / "liveportrait_templates" / "evil.pkl"
    evil.write_bytes(pickle.dumps({"n_frames": 1, "output_fps": 25, "motion": [Payload()]}))
    g = Graph()
    loader = g.add("LPK_LoadMotionTemplate", template="evil.pkl")
    g.add("LPK_SaveMotionTemplate", motion=(loader, 0), filename_prefix="errors/evil", format="safetensors")
    run = comfy_server.run(g.prompt)
    assert run.status == "error"
    assert run.error["node_id"] == loader
    assert "evil.pkl" in run.error["exception_message"] and "refused pickle global" in run.error["exception_message"]
    assert not marker.exists()


def test_several_source_images_are_refused(comfy_server, healthy):
    g = Graph()
    m = models(g)
    batch = g.add("RepeatImageBatch", image=(g.add("LoadImage", image=SOURCE), 0), amount=2)
    appearance = g.add("LPK_ExtractAppearance", models=(m, 0), image=(batch, 0))
    motion = g.add("LPK_ExtractMotion", models=(m, 0), images=(g.add("LoadImage", image=DRIVING), 0), fps=25.0)
    retarget = g.add("LPK_Retarget", models=(m, 0), source=(appearance, 0), motion=(motion, 0), **DEFAULT_OPTIONS)
    render = g.add("LPK_Render", models=(m, 0), keypoints=(retarget, 0), chunk_size=1)
    g.add("PreviewImage", images=(render, 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error"
    assert run.error["node_id"] == appearance
    assert "input 'image' holds 2" in run.error["exception_message"]


def test_retargeting_without_ratios_says_what_to_do(comfy_server, healthy):
    g = Graph()
    driving = g.add("LoadImage", image=DRIVING)
    ids = animation(g, SOURCE, (driving, 0), eye_retargeting=True)
    g.add("PreviewImage", images=(ids["render"], 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error" and run.error["node_id"] == ids["retarget"]
    assert "eye_retargeting needs the source's eye-open ratio" in run.error["exception_message"]


@pytest.mark.parametrize("option, value, node, expected", [
    ("animation_region", "mouth", "retarget", "animation_region is 'mouth', expected one of ['all', 'exp', 'pose', 'lip', 'eyes']"),
    ("chunk_size", -1, "render", "Value -1 smaller than min of 0"),
])
def test_invalid_options_are_refused_before_running(comfy_server, healthy, option, value, node, expected):
    g = Graph()
    ids = animation(g, SOURCE, (g.add("LoadImage", image=DRIVING), 0), **{option: value})
    g.add("PreviewImage", images=(ids["render"], 0))
    status, answer = comfy_server.queue(g.prompt)
    assert status == 400
    errors = answer["node_errors"][ids[node]]["errors"]
    assert any(expected in f"{e['message']} {e['details']}" for e in errors), errors


def test_interrupt_stops_a_render_within_one_chunk(comfy_server, healthy):
    frames = 200 if ON_GPU else 4  # enough one-frame chunks to still be rendering when the interrupt arrives
    g = Graph()
    driving = g.add("RepeatImageBatch", image=(g.add("LoadImage", image=DRIVING), 0), amount=frames)
    ids = animation(g, SOURCE, (driving, 0), chunk_size=1, driving_multiplier=0.75)
    g.add("PreviewImage", images=(ids["render"], 0))

    def interrupt_on_first_frame(server, message):
        if message["type"] == "progress" and message["data"]["node"] == ids["render"] and message["data"]["value"] == 1:
            server.interrupt()

    run = comfy_server.run(g.prompt, on_message=interrupt_on_first_frame)
    assert run.status == "interrupted"
    assert run.of_type("execution_interrupted")[0]["node_id"] == ids["render"]
    done = [value for value, _ in run.progress(ids["render"])]
    assert done and max(done) <= 2 < frames  # the chunk in progress may finish; no further chunk starts
