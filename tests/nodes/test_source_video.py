"""Video-to-video through a real ComfyUI server: Load Video -> Crop Faces (video) -> Animate Source Video ->
Create Video with the source's sound -> Save Video, a frame without the face kept and reported, and Render to
Video File streaming a source video file.

The source is the first three frames of s18 (1280x720, with sound) re-encoded at 25 fps, so that the output's
frame rate shows it is the source's (the driving clip d18 runs at 30 fps).
"""
from __future__ import annotations

import io
import shutil

import av
import numpy as np
import pytest
from PIL import Image

from liveportrait_core.media import VideoWriter, iter_video_frames
from tests.support.comfy_server import image_outputs, video_output
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

SOURCE, DRIVING, TEMPLATE, FPS = "s18_3.mp4", "d18.mp4", "d1.pkl", 25.0
SOURCE_VIDEO_OPTIONS = {"smooth_variance": 3e-7, "eye_hold": True, "frame_policy": "shortest"}


@pytest.fixture(scope="module")
def inputs(comfy_server, server_face_models, assets_dir):  # noqa: F811
    base = comfy_server.base
    s18 = assets_dir / "source" / "s18.mp4"
    with VideoWriter(base / "input" / SOURCE, FPS, audio_from=s18) as writer:
        writer.write(next(iter_video_frames(s18, chunk=3, limit=3)))
    shutil.copy(assets_dir / "driving" / DRIVING, base / "input" / DRIVING)
    shutil.copy(assets_dir / "driving" / TEMPLATE, base / "models" / "liveportrait_templates" / TEMPLATE)


def decoded(path) -> tuple[list[np.ndarray], av.VideoStream, bool]:
    """RGB frames, the video stream and whether there is a sound track."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], stream, bool(container.streams.audio)


def test_source_video_edit_keeps_a_frame_without_face_and_reports_it(comfy_server, inputs, tmp_path):
    g = Graph()
    m = (models(g), 0)
    components = g.add("GetVideoComponents", video=(g.add("LoadVideo", file=SOURCE), 0))
    first_two = g.add("ImageFromBatch", image=(components, 0), batch_index=0, length=2)
    last = g.add("ImageFromBatch", image=(components, 0), batch_index=2, length=1)
    black = g.add("EmptyImage", width=1280, height=720, batch_size=1, color=0)
    frames = g.add("ImageBatch", image1=(g.add("ImageBatch", image1=(first_two, 0), image2=(black, 0)), 0),
                   image2=(last, 0))  # source frames 0, 1, a frame without a face, 2
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    crop = g.add("LPK_CropFaces", detector=(detector, 0), images=(frames, 0), frames="video", face=0, scale=2.3,
                 vx_ratio=0.0, vy_ratio=-0.125, rotate=True, on_missing_face="skip")
    motion = g.add("LPK_LoadMotionTemplate", template=TEMPLATE)
    node = g.add("LPK_AnimateSourceVideo", models=m, images=(frames, 0), crop=(crop, 1), motion=(motion, 0),
                 **DEFAULT_OPTIONS, stitching=True, **SOURCE_VIDEO_OPTIONS, feather=16.0, chunk_size=2)
    report = g.add("PreviewAny", source=(node, 2))
    masks = g.add("SaveImage", images=(g.add("MaskToImage", mask=(node, 1)), 0), filename_prefix="lp/v2v_mask")
    originals = g.add("SaveImage", images=(frames, 0), filename_prefix="lp/v2v_in")
    video = g.add("CreateVideo", images=(node, 0), fps=(components, 2), audio=(components, 1))
    save = g.add("SaveVideo", video=(video, 0), filename_prefix="lp/v2v", format="auto", codec="auto")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    assert run.progress(node)[-4:] == [(i, 4) for i in range(1, 5)]  # one update per frame, in chunks of 2
    assert run.outputs(report)["text"] == ["2"]

    def pngs(saver: str) -> list[np.ndarray]:
        return [np.asarray(Image.open(io.BytesIO(png))) for png in image_outputs(comfy_server, run, saver)]

    mask, original = [m[..., 0] for m in pngs(masks)], pngs(originals)
    out, stream, has_audio = decoded(video_output(comfy_server, run, save, tmp_path))
    assert has_audio, "the source video's sound did not reach the saved video"
    assert float(stream.average_rate) == pytest.approx(FPS)
    assert len(out) == 4 and out[0].shape == (720, 1280, 3)
    assert not mask[2].any() and out[2].max() <= 8  # no face: nothing pasted, the black frame stays black
    for i in (0, 1, 3):
        face, outside = mask[i] == 255, mask[i] == 0
        assert face.any()
        difference = np.abs(out[i].astype(int) - original[i])
        assert difference[outside].mean() < 3  # only H.264's loss
        assert difference[face].mean() > 10  # the face was re-rendered (noise, with the synthetic weights)


def test_anchor_motion_sets_what_a_source_video_is_driven_relative_to(comfy_server, inputs):
    g = Graph()
    m = (models(g), 0)
    components = g.add("GetVideoComponents", video=(g.add("LoadVideo", file=SOURCE), 0))
    frames = g.add("ImageFromBatch", image=(components, 0), batch_index=0, length=2)
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    crop = g.add("LPK_CropFaces", detector=(detector, 0), images=(frames, 0), frames="video", face=0, scale=2.3,
                 vx_ratio=0.0, vy_ratio=-0.125, rotate=True, on_missing_face="fail")
    motion = g.add("LPK_LoadMotionTemplate", template=TEMPLATE)
    saves = []
    for anchor_frame in (None, 0, 10):
        driving = (motion, 0) if anchor_frame is None else \
            (g.add("LPK_AnchorMotion", motion=(motion, 0), anchor="frame", frame=anchor_frame), 0)
        node = g.add("LPK_AnimateSourceVideo", models=m, images=(frames, 0), crop=(crop, 1), motion=driving,
                     **DEFAULT_OPTIONS, stitching=True, **SOURCE_VIDEO_OPTIONS, feather=16.0, chunk_size=2)
        saves.append(g.add("SaveImage", images=(node, 0), filename_prefix=f"lp/v2v_anchor{anchor_frame}"))
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    plain, first, later = (np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in image_outputs(comfy_server, run, s)])
                           for s in saves)
    np.testing.assert_array_equal(first, plain)  # the first frame is the official anchor
    assert np.abs(later.astype(int) - plain).mean() > 0.5  # another anchor moves the face differently


def render_source_video(g: Graph, audio: str, prefix: str) -> str:
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    return g.add("LPK_RenderToFile", models=(models(g), 0), driving_video=DRIVING, source_video=SOURCE, audio=audio,
                 detector=(detector, 0), **DEFAULT_OPTIONS, stitching=True, feather=16.0, chunk_size=2, max_frames=2,
                 filename_prefix=prefix)


def test_render_to_file_streams_a_source_video(comfy_server, inputs, tmp_path):
    g = Graph()
    node = render_source_video(g, "auto", "lp/v2v_stream")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    assert run.progress(node)[-2:] == [(1, 2), (2, 2)]
    out, stream, has_audio = decoded(video_output(comfy_server, run, node, tmp_path))
    assert has_audio, "the source video's sound is kept by default"
    assert float(stream.average_rate) == pytest.approx(FPS)  # the source's, not the driving video's 30
    assert len(out) == 2 and out[0].shape == (720, 1280, 3)

    g.prompt[node]["inputs"].update(audio="none", max_frames=1)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    out, _, has_audio = decoded(video_output(comfy_server, run, node, tmp_path))
    assert len(out) == 1 and not has_audio


def test_render_to_file_needs_exactly_one_source(comfy_server, inputs):
    g = Graph()
    node = render_source_video(g, "auto", "lp/v2v_none")
    g.prompt[node]["inputs"]["source_video"] = "none"
    run = comfy_server.run(g.prompt)
    assert run.status == "error"
    message = run.error["exception_message"]
    assert "connect 'source' (a still portrait), or give a source video ('source_video' or 'source_video_in')" in message
    assert "exactly one (got neither)" in message
