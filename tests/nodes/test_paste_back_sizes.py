"""Paste Back of renders resized on the way, through a real ComfyUI server: Render -> core Upscale Image By, and
Render -> core Load Upscale Model + Upscale Image (using Model) with a tiny generated model, -> Paste Back; and the
error for frames that are not square."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests.nodes.test_faces import PORTRAIT, crop, inputs, portraits, render_crop  # noqa: F401  (inputs: fixture)
from tests.support.comfy_server import image_outputs
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import Graph, Link
from tests.support.upscale_models import write_upscale_model

UPSCALER = "tiny_compact_2x.pth"


@pytest.fixture(scope="module")
def upscaler(comfy_server) -> str:
    """The tiny 2x model in the server's models/upscale_models (generated, see tests/support/upscale_models.py)."""
    write_upscale_model(comfy_server.base / "models" / "upscale_models" / UPSCALER)
    return UPSCALER


def saved(server, run, node: str) -> np.ndarray:
    [picture] = [np.asarray(Image.open(io.BytesIO(b))) for b in image_outputs(server, run, node)]
    return picture.astype(int)


def upscaled_pastes(g: Graph, frames: Link, cropped: str, original: Link, upscaler: str) -> dict[str, tuple[str, str]]:
    """Paste Back of ``frames`` as they are, 2x by Upscale Image By (bilinear) and 2x by the upscale model: name ->
    (Save Image of the pasted pictures, Save Image of Paste Back's mask)."""
    model = (g.add("UpscaleModelLoader", model_name=upscaler), 0)
    resized = {"512": frames,
               "bilinear": (g.add("ImageScaleBy", image=frames, upscale_method="bilinear", scale_by=2.0), 0),
               "model": (g.add("ImageUpscaleWithModel", upscale_model=model, image=frames), 0)}
    saves = {}
    for name, images in resized.items():
        pasted = g.add("LPK_PasteBack", frames=images, crop=(cropped, 1), original=original, feather=16.0,
                       frame_policy="shortest")
        saves[name] = (g.add("SaveImage", images=(pasted, 0), filename_prefix=f"sizes/{name}"),
                       g.add("SaveImage", images=(g.add("MaskToImage", mask=(pasted, 1)), 0),
                             filename_prefix=f"sizes/{name}_mask"))
    saves["upscaled"] = (g.add("SaveImage", images=resized["model"], filename_prefix="sizes/upscaled"), "")
    return saves


def check_pastes(server, run, saves: dict[str, tuple[str, str]], portrait: np.ndarray,
                 bounds: dict[str, float]) -> float:
    """Each 2x paste is the picture's size, with the 512 paste's mask, the original outside both masks and, inside,
    within ``bounds[upscale]`` levels of the 512 paste on average. Returns how far the 512 paste is from the
    portrait there (on average)."""
    assert saved(server, run, saves["upscaled"][0]).shape == (1024, 1024, 3)
    out = {name: saved(server, run, picture) for name, (picture, _) in saves.items() if name != "upscaled"}
    mask = {name: saved(server, run, plane)[..., 0] / 255 for name, (_, plane) in saves.items() if name != "upscaled"}
    assert all(o.shape == portrait.shape for o in out.values())  # the original frame's size
    face = mask["512"] == 1
    pasted = np.abs(out["512"] - portrait).max(-1)[face].mean()
    for name in ("bilinear", "model"):
        assert np.abs(mask[name] - mask["512"]).max() <= 0.1, name  # the same feathered square
        differs = np.abs(out[name] - out["512"]).max(-1)
        assert (differs[mask["512"] + mask[name] == 0] == 0).all(), name  # outside both masks: the original
        assert differs[face].mean() < bounds[name], name
    return pasted


def test_upscaled_renders_paste_where_the_render_does(comfy_server, inputs, upscaler, assets_dir):  # noqa: F811
    """Render -> 2x -> Paste Back against Render -> Paste Back. The synthetic weights render noise (about 90 levels
    from the portrait's face), which two resamplings change by several levels; the real face crop, pasted the same
    ways, measures the geometry: within a level of the 512 paste on average (the nearest-neighbour upscale inside
    the model, 2)."""
    g = Graph()
    original = portraits(g, 1)
    cropped = crop(g, original)
    render = (render_crop(g, cropped), 0)
    rendered = upscaled_pastes(g, render, cropped, original, upscaler)
    face_crop = upscaled_pastes(g, (cropped, 0), cropped, original, upscaler)
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]

    portrait = np.asarray(Image.open(assets_dir / "source" / PORTRAIT).convert("RGB")).astype(int)
    assert portrait.shape == (725, 725, 3)
    assert check_pastes(comfy_server, run, rendered, portrait, {"bilinear": 10, "model": 20}) > 50
    check_pastes(comfy_server, run, face_crop, portrait, {"bilinear": 1, "model": 2})


def test_frames_that_are_not_square_are_refused(comfy_server, inputs):  # noqa: F811
    g = Graph()  # the 512 crop stands in for a render; cut to 512x400 it is no longer square
    original = portraits(g, 1)
    cropped = crop(g, original)
    cut = g.add("ImageCrop", image=(cropped, 0), width=512, height=400, x=0, y=0)
    pasted = g.add("LPK_PasteBack", frames=(cut, 0), crop=(cropped, 1), original=original, feather=16.0,
                   frame_policy="shortest")
    g.add("PreviewImage", images=(pasted, 0))
    run = comfy_server.run(g.prompt)
    assert run.status == "error" and run.error["node_id"] == pasted
    assert "input 'frames' is 512x400, but it must be square" in run.error["exception_message"]

    comfy_server.get("/system_stats")
    g = Graph()  # then the same crop halved to 256x256 pastes
    original = portraits(g, 1)
    cropped = crop(g, original)
    half = g.add("ImageScaleBy", image=(cropped, 0), upscale_method="area", scale_by=0.5)
    pasted = g.add("LPK_PasteBack", frames=(half, 0), crop=(cropped, 1), original=original, feather=16.0,
                   frame_policy="shortest")
    save = g.add("SaveImage", images=(pasted, 0), filename_prefix="sizes/half")
    run = comfy_server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    assert saved(comfy_server, run, save).shape == (725, 725, 3)
