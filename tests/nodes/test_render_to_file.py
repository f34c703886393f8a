"""Render to Video File through a real ComfyUI server: a pasted-back clip with the driving audio, and interrupts.

An interrupted render deletes its unfinished file (it never reaches the history), and the server stays healthy.
"""
from __future__ import annotations

import shutil

import av
import pytest

from tests.support.comfy_server import video_output
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

PORTRAIT, SOURCE, VIDEO = "s6.jpg", "source_s6.png", "d18.mp4"  # d18: 480x480 face crops at 30 fps, with AAC sound


@pytest.fixture(scope="module")
def inputs(comfy_server, assets_dir, conformance_dir):
    shutil.copy(assets_dir / "driving" / VIDEO, comfy_server.base / "input" / VIDEO)
    shutil.copy(assets_dir / "source" / PORTRAIT, comfy_server.base / "input" / PORTRAIT)
    shutil.copy(conformance_dir / SOURCE, comfy_server.base / "input" / SOURCE)


def render_to_file(g: Graph, m, source: str, prefix: str, max_frames: int, chunk_size: int, **links) -> str:
    return g.add("LPK_RenderToFile", models=m, source=(source, 0), driving_video=VIDEO, **DEFAULT_OPTIONS, stitching=True,
                 feather=16.0, chunk_size=chunk_size, max_frames=max_frames, filename_prefix=prefix, **links)


def test_streams_a_pasted_back_clip_with_the_driving_audio(comfy_server, inputs, server_face_models, tmp_path):  # noqa: F811
    frames = 3
    g = Graph()
    m = (models(g), 0)
    original = (g.add("LoadImage", image=PORTRAIT), 0)
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    cropped = g.add("LPK_CropFaces", detector=(detector, 0), images=original, frames="images", face=0, scale=2.3,
                    vx_ratio=0.0, vy_ratio=-0.125, rotate=True, on_missing_face="fail")
    source = g.add("LPK_ExtractAppearance", models=m, image=(cropped, 0), crop=(cropped, 1))
    node = render_to_file(g, m, source, "lp/stream", frames, 2, crop=(cropped, 1), original=original)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    assert run.progress(node)[-frames:] == [(i, frames) for i in range(1, frames + 1)]  # one update per frame
    [saved] = run.outputs(node)["images"]
    assert saved["type"] == "output" and saved["subfolder"] == "lp" and saved["filename"].endswith(".mp4")
    with av.open(str(video_output(comfy_server, run, node, tmp_path))) as container:
        assert container.streams.audio, "the driving video's audio is missing"
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(30.0)
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(decoded) == frames
    assert decoded[0].shape == (726, 726, 3)  # the 725x725 portrait, padded to even for yuv420p


def test_interrupt_removes_the_unfinished_file_and_leaves_the_server_healthy(comfy_server, inputs):
    g = Graph()
    m = (models(g), 0)
    source = g.add("LPK_ExtractAppearance", models=m, image=(g.add("LoadImage", image=SOURCE), 0))
    node = render_to_file(g, m, source, "lp/interrupted", 4, 1)

    def interrupt_on_first_frame(server, message):
        if message["type"] == "progress" and message["data"]["node"] == node and message["data"]["value"] == 1:
            server.interrupt()

    run = comfy_server.run(g.prompt, on_message=interrupt_on_first_frame)
    assert run.status == "interrupted"
    assert max(v for v, _ in run.progress(node)) <= 2 < 4  # the chunk in progress may finish; no further chunk starts
    assert not list((comfy_server.base / "output" / "lp").glob("interrupted_*"))

    # healthy: the same node runs to the end afterwards (no paste-back: the 512x512 renders)
    g.prompt[node]["inputs"].update(max_frames=1, filename_prefix="lp/after")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    [saved] = run.outputs(node)["images"]
    with av.open(str(comfy_server.base / "output" / saved["subfolder"] / saved["filename"])) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height, stream.frames) == (512, 512, 1)
