"""Expression sliders on a source video through a real ComfyUI server: Crop Faces (video) -> Animate Source Video with
only an expression (Expression Editor, Keyframe Timeline) -> Create Video with the source's sound -> Save Video.

The source is the 3-frame, 25 fps clip of s18 with sound that tests/nodes/test_source_video.py builds. That the
neutral edit is each frame's own keypoints is checked in tests/editing/test_video_editing.py (the synthetic weights render
noise, so a re-render is not the source frame); here: the smile changes the frames inside the paste mask only,
and a timeline's values land on their frames; its per-frame state saves and loads back per frame, and the
Expression Editor takes it.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from liveportrait_core.editing.slider_files import load_sliders
from tests.support.comfy_server import image_outputs, video_output
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models
from tests.nodes.test_editing import NEUTRAL
from tests.nodes.test_source_video import FPS, SOURCE, SOURCE_VIDEO_OPTIONS, decoded, inputs  # noqa: F401  (fixture)

SMILE = 1.3
TIMELINE = f'[{{"frame": 0}}, {{"frame": 2, "smile": {SMILE}}}]'


def pngs(server, run, saver: str) -> list[np.ndarray]:
    return [np.asarray(Image.open(io.BytesIO(png))) for png in image_outputs(server, run, saver)]


def test_sliders_edit_a_source_video_inside_the_mask_and_keep_its_sound(comfy_server, inputs, tmp_path):  # noqa: F811
    g = Graph()
    m = (models(g), 0)
    components = g.add("GetVideoComponents", video=(g.add("LoadVideo", file=SOURCE), 0))
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    crop = g.add("LPK_CropFaces", detector=(detector, 0), images=(components, 0), frames="video", face=0, scale=2.3,
                 vx_ratio=0.0, vy_ratio=-0.125, rotate=True, on_missing_face="skip")
    first = g.add("ImageFromBatch", image=(crop, 0), batch_index=0, length=1)
    source = (g.add("LPK_ExtractAppearance", models=m, image=(first, 0)), 0)

    def animated(expression: tuple[str, int], prefix: str) -> tuple[str, str]:
        node = g.add("LPK_AnimateSourceVideo", models=m, images=(components, 0), crop=(crop, 1), expression=expression,
                     **DEFAULT_OPTIONS, stitching=True, **SOURCE_VIDEO_OPTIONS, feather=16.0, chunk_size=3)
        return node, g.add("SaveImage", images=(node, 0), filename_prefix=prefix)

    smile = g.add("LPK_ExpressionEditor", models=m, source=source, preview=False, **{**NEUTRAL, "smile": SMILE})
    neutral = g.add("LPK_ExpressionEditor", models=m, source=source, preview=False, **NEUTRAL)
    timeline = g.add("LPK_KeyframeTimeline", models=m, source=source, keyframes=TIMELINE, frame_count=0, fps=FPS)
    smiling, save_smiling = animated((smile, 1), "lp/v2v_smile")
    _, save_neutral = animated((neutral, 1), "lp/v2v_neutral")
    _, save_timeline = animated((timeline, 2), "lp/v2v_timeline")
    masks = g.add("SaveImage", images=(g.add("MaskToImage", mask=(smiling, 1)), 0), filename_prefix="lp/v2v_smile_mask")
    originals = g.add("SaveImage", images=(components, 0), filename_prefix="lp/v2v_smile_in")
    video = g.add("CreateVideo", images=(smiling, 0), fps=(components, 2), audio=(components, 1))
    save = g.add("SaveVideo", video=(video, 0), filename_prefix="lp/v2v_smile", format="auto", codec="auto")
    saved = g.add("LPK_SaveExpression", expression=(timeline, 2), filename_prefix="expr/timeline", description="")
    g.add("LPK_ExpressionEditor", models=m, source=source, expression=(timeline, 2), preview=False, **NEUTRAL)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    out, stream, has_audio = decoded(video_output(comfy_server, run, save, tmp_path))
    assert has_audio, "the source video's sound did not reach the saved video"
    assert float(stream.average_rate) == pytest.approx(FPS)
    assert len(out) == 3 and out[0].shape == (720, 1280, 3)
    smiled, plain, timed = (pngs(comfy_server, run, s) for s in (save_smiling, save_neutral, save_timeline))
    original, mask = pngs(comfy_server, run, originals), [m[..., 0] for m in pngs(comfy_server, run, masks)]
    for i in range(3):
        face, outside = mask[i] == 255, mask[i] == 0
        assert face.any()
        assert np.array_equal(smiled[i][outside], original[i][outside])  # nothing changes outside the mask
        assert np.abs(out[i].astype(int) - original[i])[outside].mean() < 3  # only H.264's loss
        assert np.abs(smiled[i].astype(int) - plain[i])[face].mean() > 0.5  # the smile changed the face (~1.4 here)
    # the timeline's values land on their frames: neutral at frame 0, the full smile at frame 2, between at 1
    assert np.abs(timed[0].astype(int) - plain[0]).max() <= 1
    assert np.abs(timed[2].astype(int) - smiled[2]).max() <= 1
    assert np.abs(timed[1].astype(int) - plain[1]).max() > 1 and np.abs(timed[1].astype(int) - smiled[1]).max() > 1
    state, _ = load_sliders(comfy_server.base / "models" / "liveportrait_templates" / run.outputs(saved)["text"][0])
    assert state.smile == (0.0, SMILE / 2, SMILE) and state.frames() == 3
