"""Video conventions through a real ComfyUI server: core video nodes in, fps and audio through, per-frame progress."""
from __future__ import annotations

import shutil

import av
import pytest

from tests.support.comfy_server import video_output
from tests.support.lp_prompts import Graph, animation

VIDEO, SOURCE, FRAMES = "d18.mp4", "source_s6.png", 2


@pytest.fixture(scope="module")
def inputs(comfy_server, assets_dir, conformance_dir):
    shutil.copy(assets_dir / "driving" / VIDEO, comfy_server.base / "input" / VIDEO)
    shutil.copy(conformance_dir / SOURCE, comfy_server.base / "input" / SOURCE)


def test_driving_video_fps_and_audio_reach_save_video(comfy_server, inputs, tmp_path):
    g = Graph()
    components = g.add("GetVideoComponents", video=(g.add("LoadVideo", file=VIDEO), 0))
    driving = g.add("ImageFromBatch", image=(components, 0), batch_index=0, length=FRAMES)
    ids = animation(g, SOURCE, (driving, 0), fps=(components, 2), chunk_size=4)
    video = g.add("CreateVideo", images=(ids["render"], 0), fps=(ids["render"], 1), audio=(components, 1))
    save = g.add("SaveVideo", video=(video, 0), filename_prefix="lp/video", format="auto", codec="auto")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    # one progress message per frame although both frames render in one chunk, with a live preview
    assert run.progress(ids["render"]) == [(1, FRAMES), (2, FRAMES)]
    assert run.previews >= 1

    with av.open(str(video_output(comfy_server, run, save, tmp_path))) as container:
        assert container.streams.audio, "the driving video's audio did not reach the saved video"
        stream = container.streams.video[0]
        assert float(stream.average_rate) == pytest.approx(30.0)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    assert len(frames) == FRAMES and frames[0].shape == (512, 512, 3)
