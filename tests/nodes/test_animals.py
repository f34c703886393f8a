"""Animals and detector-free crops through a real ComfyUI server: Crop Face from Box (typed box, mask, centre),
the animals models driven by the official animal pipeline in Retarget, and the errors of both."""
from __future__ import annotations

import io
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from nodes.face_boxes import bbox_box, face_boxes, mask_boxes, segs_box
from tests.support.comfy_server import image_outputs
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models
from tests.motion.test_animals import DOG_BOX

DOG, MASK, TEMPLATE, FRAMES = "dog.jpg", "dog_face_mask.png", "d5.pkl", 2
X, Y, W, H = (int(v) for v in DOG_BOX.split(","))  # the dog's face in s33.jpg (512x512)
SCALE = 1.5  # a crop square of 330 px about the box: well inside the picture, so the outside can be checked


@pytest.fixture(scope="module")
def inputs(comfy_server, assets_dir):
    shutil.copy(assets_dir / "source" / "s33.jpg", comfy_server.base / "input" / DOG)
    mask = np.zeros((512, 512, 3), np.uint8)
    mask[Y:Y + H, X:X + W, 0] = 255
    Image.fromarray(mask).save(comfy_server.base / "input" / MASK)
    shutil.copy(assets_dir / "driving" / TEMPLATE, comfy_server.base / "models" / "liveportrait_templates" / TEMPLATE)


def box_crop(g: Graph, images, mode: str = "box", box: tuple[int, int, int, int] = (X, Y, W, H), **sockets) -> str:
    x, y, w, h = box
    return g.add("LPK_CropFaceBox", images=images, mode=mode, x=x, y=y, w=w, h=h, scale=SCALE, vx_ratio=0.0,
                 vy_ratio=-0.125, index=0, bbox_format="xyxy", **sockets)


def animal_chain(g: Graph, variant: str = "animals", **options) -> dict[str, str]:
    """Dog picture -> Crop Face from Box -> Extract Appearance -> Retarget (template) -> Render -> Paste Back."""
    m, picture = (models(g, variant), 0), (g.add("LoadImage", image=DOG), 0)
    cropped = box_crop(g, picture)
    source = g.add("LPK_ExtractAppearance", models=m, image=(cropped, 0), crop=(cropped, 1))
    motion = g.add("LPK_TrimMotion", motion=(g.add("LPK_LoadMotionTemplate", template=TEMPLATE), 0), start=0, end=FRAMES)
    retarget = g.add("LPK_Retarget", models=m, source=(source, 0), motion=(motion, 0), **{**DEFAULT_OPTIONS, **options})
    render = g.add("LPK_Render", models=m, keypoints=(retarget, 0), chunk_size=FRAMES)  # animals: no Stitch (official)
    pasted = g.add("LPK_PasteBack", frames=(render, 0), crop=(cropped, 1), original=picture, feather=16.0,
                   frame_policy="shortest")
    return {"retarget": retarget, "pasted": pasted}


def saved(server, run, node: str) -> np.ndarray:
    return np.stack([np.asarray(Image.open(io.BytesIO(b))) for b in image_outputs(server, run, node)])


def test_a_dog_animated_from_a_typed_box_changes_only_inside_its_crop(comfy_server, inputs, assets_dir):
    g = Graph()
    ids = animal_chain(g)
    frames = g.add("SaveImage", images=(ids["pasted"], 0), filename_prefix="animals/dog")
    mask = g.add("SaveImage", images=(g.add("MaskToImage", mask=(ids["pasted"], 1)), 0), filename_prefix="animals/mask")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    out, masks = saved(comfy_server, run, frames), saved(comfy_server, run, mask)[..., 0]
    dog = np.asarray(Image.open(assets_dir / "source" / "s33.jpg").convert("RGB"))
    assert out.shape == (FRAMES, *dog.shape)
    side = SCALE * max(W, H)  # the crop square, computed here from the official box geometry
    cx, cy = X + W / 2, Y + H / 2 - 0.125 * side
    outside = np.ones(dog.shape[:2], bool)
    outside[int(cy - side / 2) - 2:int(cy + side / 2) + 3, int(cx - side / 2) - 2:int(cx + side / 2) + 3] = False
    assert outside.mean() > 0.4
    for frame, m in zip(out, masks):
        assert np.array_equal(frame[outside], dog[outside]) and m[outside].max() == 0
        assert np.abs(frame[m == 255].astype(int) - dog[m == 255]).mean() > 1  # the face was pasted


def test_mask_box_equals_the_typed_box_and_centre_mode_crops_the_middle(comfy_server, inputs, assets_dir):
    g = Graph()
    picture = (g.add("LoadImage", image=DOG), 0)
    mask = (g.add("LoadImageMask", image=MASK, channel="red"), 0)
    crops = {name: g.add("SaveImage", images=(node, 0), filename_prefix=f"animals/{name}") for name, node in (
        ("typed", box_crop(g, picture)), ("mask", box_crop(g, picture, box=(0, 0, 0, 0), mask=mask)),
        ("centre", box_crop(g, picture, "center")))}
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    out = {name: saved(comfy_server, run, node) for name, node in crops.items()}
    assert out["typed"].shape == (1, 512, 512, 3) and out["typed"].std() > 10
    np.testing.assert_array_equal(out["mask"], out["typed"])
    dog = np.asarray(Image.open(assets_dir / "source" / "s33.jpg").convert("RGB"))
    np.testing.assert_array_equal(out["centre"][0], dog)  # a square picture: its centre square is all of it


@pytest.mark.parametrize("case, expected", [
    ("no box", "no face box is given: connect a MASK"),
    ("centre with mask", "mode is 'center', which crops the middle of the picture and ignores input(s) 'mask'"),
    ("human options", "does not use eye_retargeting"),
    ("no landmarks", "eye_retargeting needs the source's eye-open ratio"),
])
def test_errors_say_what_to_connect_or_change(comfy_server, inputs, case, expected):
    g = Graph()
    if case in ("no box", "centre with mask"):
        picture = (g.add("LoadImage", image=DOG), 0)
        mask = {"mask": (g.add("LoadImageMask", image=MASK, channel="red"), 0)} if case == "centre with mask" else {}
        node = box_crop(g, picture, "center" if mask else "box", (0, 0, 0, 0), **mask)
        g.add("PreviewImage", images=(node, 0))
    else:
        ids = animal_chain(g, "animals" if case == "human options" else "human", eye_retargeting=True)
        node = ids["retarget"]
        g.add("PreviewImage", images=(ids["pasted"], 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error" and run.error["node_id"] == node, run.messages[-1]
    assert expected in run.error["exception_message"]


def test_boxes_from_masks_segs_and_bbox_lists():
    mask = torch.zeros(2, 100, 50)
    mask[0, 10:20, 5:15] = 1
    mask[1, 30:40, 0:50] = 0.7
    assert mask_boxes(mask, 2, (200, 100)) == [(10.0, 20.0, 20.0, 20.0), (0.0, 60.0, 100.0, 20.0)]  # scaled x2
    assert mask_boxes(mask[:1], 3, (100, 50)) == [(5.0, 10.0, 10.0, 10.0)] * 3
    with pytest.raises(ValueError, match="mask 0 of input 'mask' has no pixel above 0.5"):
        mask_boxes(torch.zeros(1, 4, 4), 1, (4, 4))
    segs = ((100, 100), [SimpleNamespace(bbox=[1, 2, 11, 22]), SimpleNamespace(bbox=np.array([5, 5, 9, 9]))])
    assert segs_box(segs, 1) == (5.0, 5.0, 4.0, 4.0)
    with pytest.raises(ValueError, match="index is 2 but input 'segs' holds 2 box"):
        segs_box(segs, 2)
    with pytest.raises(ValueError, match="not Impact Pack SEGS"):
        segs_box("not segs", 0)
    assert bbox_box([1, 2, 11, 22], 0, "xyxy") == (1.0, 2.0, 10.0, 20.0)
    assert bbox_box([[0, 0, 1, 1], (3, 4, 5, 6)], 1, "xywh") == (3.0, 4.0, 5.0, 6.0)
    with pytest.raises(ValueError, match="input 'bbox' holds no box"):
        bbox_box([], 0, "xyxy")
    with pytest.raises(ValueError, match="inputs 'mask' and 'bbox' are connected"):
        face_boxes(1, (4, 4), (0, 0, 0, 0), 0, "xyxy", mask=mask, bbox=[1, 2, 3, 4])
    assert face_boxes(2, (4, 4), (1, 1, 2, 2), 0, "xyxy") == [(1, 1, 2, 2)] * 2
