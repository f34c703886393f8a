"""Several faces through a real ComfyUI server: one Crop Faces -> ... -> Paste Back chain per face, each chain
pasting into the previous one's images, and Crop Faces' video mode following one face by position."""
from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.support.comfy_server import image_outputs
from tests.support.faces import face_models, portrait, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models
from tests.pipeline.test_multi_face import two_faces

PICTURE, DRIVERS, FRAMES = "two_faces.png", ("d5.pkl", "laugh.pkl"), 2


@pytest.fixture(scope="module")
def inputs(comfy_server, server_face_models, assets_dir):  # noqa: F811
    Image.fromarray(two_faces()).save(comfy_server.base / "input" / PICTURE)
    for name in DRIVERS:
        shutil.copy(assets_dir / "driving" / name, comfy_server.base / "models" / "liveportrait_templates" / name)
    for i, frame in enumerate(swapping_sizes()):
        Image.fromarray(frame).save(comfy_server.base / "input" / f"swap_{i}.png")


def crop(g: Graph, images, face: int, frames: str = "images") -> str:
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    return g.add("LPK_CropFaces", detector=(detector, 0), images=images, frames=frames, face=face, scale=2.3,
                 vx_ratio=0.0, vy_ratio=-0.125, rotate=True, on_missing_face="fail")


def animate_face(g: Graph, m, picture, face: int, driver: str, original) -> str:
    """Crop face ``face`` of ``picture`` -> ... -> Render with template ``driver`` -> Paste Back into ``original``."""
    cropped = crop(g, picture, face)
    source = g.add("LPK_ExtractAppearance", models=m, image=(cropped, 0), crop=(cropped, 1))
    motion = g.add("LPK_TrimMotion", motion=(g.add("LPK_LoadMotionTemplate", template=driver), 0), start=0, end=FRAMES)
    keypoints = g.add("LPK_Retarget", models=m, source=(source, 0), motion=(motion, 0), **DEFAULT_OPTIONS)
    render = g.add("LPK_Render", models=m, keypoints=(g.add("LPK_Stitch", models=m, keypoints=(keypoints, 0)), 0),
                   chunk_size=FRAMES)
    return g.add("LPK_PasteBack", frames=(render, 0), crop=(cropped, 1), original=original, feather=16.0,
                 frame_policy="shortest")


def saved(server, run, node: str) -> np.ndarray:
    """(frames, H, W, C) of what a SaveImage node wrote."""
    return np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in image_outputs(server, run, node)])


def save(g: Graph, images, prefix: str) -> str:
    return g.add("SaveImage", images=images, filename_prefix=f"multi_face/{prefix}")


def save_mask(g: Graph, mask, prefix: str) -> str:
    return save(g, (g.add("MaskToImage", mask=mask), 0), prefix)


def test_two_faces_follow_two_drivers_each_pasted_over_the_other(comfy_server, inputs):
    g = Graph()
    m, picture = (models(g), 0), (g.add("LoadImage", image=PICTURE), 0)
    first = animate_face(g, m, picture, 0, DRIVERS[0], picture)
    second = animate_face(g, m, picture, 1, DRIVERS[1], (first, 0))
    ids = {"first": save(g, (first, 0), "first"), "final": save(g, (second, 0), "final"),
           "mask0": save_mask(g, (first, 1), "mask0"), "mask1": save_mask(g, (second, 1), "mask1")}
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    out = {name: saved(comfy_server, run, node) for name, node in ids.items()}
    original = two_faces()
    assert out["first"].shape == out["final"].shape == (FRAMES, *original.shape)
    mask0, mask1 = out["mask0"][..., 0], out["mask1"][..., 0]
    assert mask0.shape == mask1.shape == (FRAMES, *original.shape[:2])
    columns = np.arange(original.shape[1])
    for k, (mask, left) in enumerate(((mask0, True), (mask1, False))):
        centre = (mask.sum(1) * columns).sum(-1) / mask.sum((1, 2))  # per frame, the mask's centre column
        assert all((c < 512) == left for c in centre), f"face {k}'s mask is not on its own portrait: {centre}"
    assert not ((mask0 > 0) & (mask1 > 0)).any(), "the two faces' masks do not overlap on this picture"
    final, first = out["final"], out["first"]
    assert np.array_equal(final[mask1 == 0], first[mask1 == 0]), "the second Paste Back changed pixels outside its mask"
    outside = (mask0 == 0) & (mask1 == 0)
    assert np.array_equal(final[outside], np.broadcast_to(original, final.shape)[outside])
    for mask in (mask0, mask1):  # each face really moved (synthetic weights: noise, but not the original)
        assert np.abs(final[mask == 255].astype(int) - np.broadcast_to(original, final.shape)[mask == 255]).mean() > 1


def swapping_sizes() -> list[np.ndarray]:
    """Two frames of the two-face picture: the left face larger in the first, the right face in the second
    (each portrait scaled about its own centre, so faces stay in place while their size order flips)."""
    frames = []
    for left_scale, right_scale in ((1.0, 0.8), (0.5, 1.0)):
        canvas = np.full((512, 887, 3), 40, np.uint8)
        for name, scale, (cx, cy) in (("s42", left_scale, (256, 256)), ("s12", right_scale, (699, 250))):
            image = Image.fromarray(portrait(name))
            w, h = round(image.width * scale), round(image.height * scale)
            x, y = cx - w // 2, cy - h // 2
            canvas[y:y + h, x:x + w] = np.asarray(image.resize((w, h)))
        frames.append(canvas)
    return frames


@pytest.mark.parametrize("face, on_left", [(0, True), (1, False)])
def test_video_mode_follows_each_face_by_position(comfy_server, inputs, face, on_left):
    g = Graph()
    frames = (g.add("ImageBatch", image1=(g.add("LoadImage", image="swap_0.png"), 0),
                    image2=(g.add("LoadImage", image="swap_1.png"), 0)), 0)
    cropped = crop(g, frames, face, "video")
    pasted = g.add("LPK_PasteBack", frames=(cropped, 0), crop=(cropped, 1), original=frames, feather=16.0,
                   frame_policy="shortest")  # the crops stand in for rendered frames: only the mask is looked at
    node = save_mask(g, (pasted, 1), f"swap{face}")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    masks = saved(comfy_server, run, node)[..., 0]
    assert masks.shape == (2, 512, 887)
    centre = (masks.sum(1) * np.arange(887)).sum(-1) / masks.sum((1, 2))
    assert all((c < 512) == on_left for c in centre), f"face {face} switched portraits between frames: {centre}"


def test_paste_back_user_mask_is_multiplied_in_and_counted(comfy_server, inputs):
    g = Graph()
    picture = (g.add("LoadImage", image=PICTURE), 0)
    cropped = crop(g, picture, 0)
    half = g.add("SolidMask", value=1.0, width=300, height=512)  # covers the left part of the face's square only
    canvas = g.add("SolidMask", value=0.0, width=887, height=512)
    user = g.add("MaskComposite", destination=(canvas, 0), source=(half, 0), x=0, y=0, operation="add")
    pasted = g.add("LPK_PasteBack", frames=(cropped, 0), crop=(cropped, 1), original=picture, feather=16.0,
                   frame_policy="shortest", mask=(user, 0))
    node = save_mask(g, (pasted, 1), "user")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    (mask,) = saved(comfy_server, run, node)[..., 0]
    assert mask[:, 300:].max() == 0 and mask[:, :300].max() == 255

    g = Graph()
    picture = (g.add("LoadImage", image=PICTURE), 0)
    cropped = crop(g, picture, 0)
    three = g.add("RepeatImageBatch", image=picture, amount=3)
    masks = g.add("ImageToMask", image=(three, 0), channel="red")
    pasted = g.add("LPK_PasteBack", frames=(cropped, 0), crop=(cropped, 1), original=picture, feather=16.0,
                   frame_policy="shortest", mask=(masks, 0))
    g.add("PreviewImage", images=(pasted, 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error" and run.error["node_id"] == pasted
    assert "input 'mask' holds 3 masks but input 'original' 1 frame(s)" in run.error["exception_message"]
