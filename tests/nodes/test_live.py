"""The Live Portrait node through a real ComfyUI server: one prompt per driving frame, the session kept between
prompts (the reference frame persists, re-centring resets it) until ComfyUI unloads the models, and clear errors that
leave the server healthy."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from liveportrait_core.media import iter_video_frames
from tests.support.comfy_server import image_outputs
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

PORTRAIT = "live_portrait.jpg"
FRAMES = ("live_frame_0.png", "live_frame_1.png")  # two frames of d20: 480x480 face crops
AGAIN = "live_frame_1_again.png"  # FRAMES[1] under another name: a prompt ComfyUI has no cached output for


@pytest.fixture(scope="module")
def live_inputs(comfy_server, server_face_models, assets_dir):  # noqa: F811
    shutil.copy(assets_dir / "source" / "s9.jpg", comfy_server.base / "input" / PORTRAIT)
    frames = next(iter_video_frames(assets_dir / "driving" / "d20.mp4", chunk=8))
    for name, frame in zip(FRAMES, (frames[0], frames[7])):
        Image.fromarray(frame).save(comfy_server.base / "input" / name)
    shutil.copy(comfy_server.base / "input" / FRAMES[1], comfy_server.base / "input" / AGAIN)


def live_prompt(frame: str, reference: int = 0, portrait: str = PORTRAIT) -> dict:
    g = Graph()
    m = models(g, precision="fp32")
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    live = g.add("LPK_LivePortrait", models=(m, 0), source_image=(g.add("LoadImage", image=portrait), 0),
                 driving_frame=(g.add("LoadImage", image=frame), 0), detector=(detector, 0), stitching=True,
                 smoothing="none", reference=reference, on_missing_face="hold", paste_back=True, **DEFAULT_OPTIONS)
    g.add("PreviewImage", images=(live, 0))
    return g.prompt


def frame_of(server, run) -> np.ndarray:
    [data] = image_outputs(server, run, "6")  # the PreviewImage of live_prompt
    return np.asarray(Image.open(io.BytesIO(data))).astype(int)


def test_one_prompt_per_frame_keeps_the_session_between_prompts(comfy_server, live_inputs):
    runs = [comfy_server.run(live_prompt(FRAMES[0])), comfy_server.run(live_prompt(FRAMES[1])),
            comfy_server.run(live_prompt(FRAMES[1], reference=1))]
    assert [r.status for r in runs] == ["success"] * 3, runs[-1].messages[-1]
    first, moved, recentred = (frame_of(comfy_server, r) for r in runs)
    assert first.shape == (1280, 720, 3)  # the portrait's size: pasted back
    # the second prompt measures its frame against the first prompt's: the face moves
    assert np.abs(moved - first).max() > 10
    # re-centred on that same frame, the face is at rest again, as on the very first frame
    assert np.abs(recentred - first).max() <= 1


@pytest.mark.parametrize("free_memory", [False, True], ids=["unload_models", "unload_models_and_free_memory"])
def test_unloading_the_models_closes_the_kept_session(comfy_server, live_inputs, free_memory):
    """/free's unload closes the session made with the unloaded models, so the next prompt starts a fresh one: its
    first frame is the reference again. Unloading alone keeps Load LivePortrait Models' output cached (the same
    engine comes back), so only the unload hook can close the session; with free_memory the models load anew too."""
    reference = 2 + free_memory  # a number of its own, so no earlier prompt's output is cached
    first, moved = (comfy_server.run(live_prompt(frame, reference)) for frame in FRAMES)
    assert np.abs(frame_of(comfy_server, moved) - frame_of(comfy_server, first)).max() > 10
    loads = comfy_server.log.count("Requested to load ModuleDict")
    comfy_server.free(unload_models=True, free_memory=free_memory)
    # the worker takes /free's flags after the prompt it is on (see test_pipeline's /free test): one that runs nothing
    assert comfy_server.run(live_prompt(FRAMES[1], reference)).status == "success"
    fresh = comfy_server.run(live_prompt(AGAIN, reference))
    assert fresh.status == "success", fresh.messages[-1]
    assert comfy_server.log.count("Requested to load ModuleDict") == loads + 1  # unloaded, then loaded again
    # the same frame as `moved`, but now the reference: the face at rest, as on the very first frame
    assert np.abs(frame_of(comfy_server, fresh) - frame_of(comfy_server, first)).max() <= 1


def test_a_portrait_without_a_face_is_a_clear_error_and_the_server_stays_healthy(comfy_server, live_inputs):
    Image.fromarray(np.full((300, 400, 3), 90, np.uint8)).save(comfy_server.base / "input" / "no_face.png")
    run = comfy_server.run(live_prompt(FRAMES[0], portrait="no_face.png"))
    assert run.status == "error" and "no face" in run.error["exception_message"].lower()
    assert comfy_server.run(live_prompt(FRAMES[0])).status == "success"
