"""The step nodes, chained in a real ComfyUI server, give what the core CLI gives, and use ComfyUI's cache."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.support.comfy_server import REPO, image_outputs
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, animation, models

SOURCE, DRIVING = "source_s6.png", "driving_s0.png"


@pytest.fixture(scope="module")
def inputs(comfy_server, conformance_dir):
    for name in (SOURCE, DRIVING):
        shutil.copy(conformance_dir / name, comfy_server.base / "input" / name)


def chain_prompt(**options) -> tuple[dict, dict[str, str]]:
    g = Graph()
    driving = g.add("LoadImage", image=DRIVING)
    ids = animation(g, SOURCE, (driving, 0), chunk_size=1, **options)
    ids["save"] = g.add("SaveImage", images=(ids["render"], 0), filename_prefix="chain")
    return g.prompt, ids


def saved_frames(server, run, node: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(data))) for data in image_outputs(server, run, node)]


def cli_frames(weights, conformance_dir, out) -> list[np.ndarray]:
    proc = subprocess.run([sys.executable, "-m", "liveportrait_core", "animate", "--no-crop", "--no-download",
                           "--source", str(conformance_dir / SOURCE), "--driving", str(conformance_dir / DRIVING),
                           "--weights", str(weights), "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [np.asarray(Image.open(p)) for p in sorted(out.glob("*.png"))]


def test_chain_equals_cli_then_caches(comfy_server, inputs, synthetic_weights, conformance_dir, tmp_path):
    prompt, ids = chain_prompt()
    run = comfy_server.run(prompt)
    assert run.status == "success", run.messages[-1]
    frames = saved_frames(comfy_server, run, ids["save"])
    assert [f.shape for f in frames] == [(512, 512, 3)]
    assert frames[0].std() > 1  # a picture, not a constant
    expected = cli_frames(synthetic_weights, conformance_dir, tmp_path / "cli")
    assert len(expected) == 1
    np.testing.assert_array_equal(frames[0], expected[0])
    assert run.progress(ids["render"]) == [(1, 1)]
    print(f"\nchain wall time on the server: {run.seconds:.1f} s")

    again = comfy_server.run(prompt)
    assert again.status == "success"
    assert again.executed_nodes == []
    assert again.cached_nodes == set(prompt)


def test_downstream_option_reruns_only_downstream(comfy_server, inputs):
    prompt, ids = chain_prompt()
    assert comfy_server.run(prompt).status == "success"  # cached from the test above when run together
    changed, _ = chain_prompt(driving_multiplier=0.5)
    run = comfy_server.run(changed)
    assert run.status == "success", run.messages[-1]
    assert set(run.executed_nodes) == {ids["retarget"], ids["stitch"], ids["render"], ids["save"]}
    assert {ids["models"], ids["appearance"], ids["motion"]} <= run.cached_nodes


def animate_prompt(**loader: bool) -> tuple[dict, str]:
    """Load Models (``loader`` inputs added) -> LivePortrait Animate -> Save Image."""
    g = Graph()
    m = g.add("LPK_LoadModels", variant="human", precision="auto", download=False, **loader)
    animate = g.add("LPK_Animate", models=(m, 0), source_image=(g.add("LoadImage", image=SOURCE), 0),
                    driving_images=(g.add("LoadImage", image=DRIVING), 0), fps=25.0, stitching=True, chunk_size=4,
                    **DEFAULT_OPTIONS)
    return g.prompt, g.add("SaveImage", images=(animate, 0), filename_prefix="animate")


def test_animate_node_equals_the_chain(comfy_server, inputs):
    prompt, ids = chain_prompt()
    chain = comfy_server.run(prompt)
    prompt, save = animate_prompt()
    run = comfy_server.run(prompt)
    assert run.status == "success", run.messages[-1]
    np.testing.assert_array_equal(saved_frames(comfy_server, run, save)[0], saved_frames(comfy_server, chain, ids["save"])[0])


def test_compile_on_the_cpu_renders_what_eager_renders(comfy_server, inputs):
    """On the CPU *compile* compiles nothing (eager is as fast there), so the frames are the same, bit for bit."""
    eager_prompt, eager_save = animate_prompt(compile=False)
    compiled_prompt, compiled_save = animate_prompt(compile=True)
    eager, compiled = comfy_server.run(eager_prompt), comfy_server.run(compiled_prompt)
    assert compiled.status == "success", compiled.messages[-1]
    assert "torch.compile" not in comfy_server.log
    np.testing.assert_array_equal(saved_frames(comfy_server, compiled, compiled_save)[0],
                                  saved_frames(comfy_server, eager, eager_save)[0])


def test_free_unloads_models_and_the_next_node_reloads_them(comfy_server, inputs):
    def extract(fps: float) -> None:  # a new fps re-runs Extract Motion only; Load Models stays cached
        g = Graph()
        motion = g.add("LPK_ExtractMotion", models=(models(g), 0), images=(g.add("LoadImage", image=DRIVING), 0), fps=fps)
        g.add("LPK_SaveMotionTemplate", motion=(motion, 0), filename_prefix="free/motion", format="safetensors")
        assert comfy_server.run(g.prompt).status == "success"

    def loads() -> int:
        return comfy_server.log.count("Requested to load ModuleDict")

    extract(11.0)
    before = loads()
    extract(12.0)
    assert loads() == before  # still loaded
    comfy_server.free(unload_models=True, free_memory=False)
    # The worker takes /free's flags after the prompt it is on, or on waking for a new one, a wake-up it can miss while
    # it collects garbage; so queue a prompt that runs nothing (all cached) and takes them for certain.
    extract(12.0)
    extract(13.0)
    assert loads() == before + 1
