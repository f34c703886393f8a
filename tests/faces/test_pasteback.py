"""Paste-back: the generated mask against the official template, the official s12 composite, round trips
(crop -> paste the unmodified crop back), the feather control (editing section 2, ``MASK.*``, ``PASTE.*``) and
crops resized to other square sizes before pasting (an upscaler between render and paste-back)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from liveportrait_core.faces.crop import cut_crops, track_source_image
from liveportrait_core.faces.detector import FaceDetections
from liveportrait_core.faces.pasteback import paste_back, paste_mask, resized_crop_to_original, warp_mask
from tests.support.faces import editing, portrait  # noqa: F401
from tests.faces.test_crop_images import sha256


def golden_track(editing, name: str):
    row = list(editing.full("CROP.pt203.cases")).index(name)
    pts = torch.from_numpy(editing.full("CROP.pt203.pts")[row:row + 1])
    return track_source_image(FaceDetections(torch.zeros(1, 4), torch.ones(1), pts, pts))


def round_trip(image: np.ndarray, track, size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """|composite − image| per pixel (max over channels) after pasting the unmodified crop back, resized
    (bilinear, as ComfyUI's Upscale Image By) to ``size`` first, and the mask."""
    crop_to_original = resized_crop_to_original(track.crop_to_original, track.dsize, size)
    mask = warp_mask(paste_mask(track.dsize, size=size), crop_to_original, image.shape[:2])
    crops = cut_crops(image, track)
    if size != track.dsize:
        crops = F.interpolate(crops.permute(0, 3, 1, 2).float(), size=(size, size), mode="bilinear", align_corners=False)
        crops = crops.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    out = paste_back(crops, crop_to_original, image, mask)[0].numpy()
    return np.abs(out.astype(int) - image.astype(int)).max(-1), mask[0].numpy()


def test_generated_mask_is_the_official_template(editing):
    mask = paste_mask().numpy()
    assert mask.shape == (512, 512) and mask.dtype == np.uint8
    editing.check("MASK.template.row256", mask[256])
    editing.check("MASK.template.col256", mask[:, 256])
    editing.check("MASK.template.diag", np.diagonal(mask))
    editing.check("MASK.template.corner_tl_24", mask[:24, :24])
    editing.check("MASK.template.corner_br_24", mask[-24:, -24:])
    assert (mask == 255).mean() == pytest.approx(0.88257, abs=1e-5) and (mask == 0).mean() == pytest.approx(0.00454, abs=1e-5)


def test_official_s12_mask_and_composite(editing):
    image = portrait("s12")
    assert sha256(image) == str(editing.full("PASTE.s12.input_sha256"))
    m_c2o = torch.from_numpy(editing.full("CROPIMG.s12.src.M_c2o")).double()[None]
    mask = warp_mask(paste_mask(), m_c2o, image.shape[:2])
    editing.check("PASTE.s12.mask_ori", mask[0])
    inverted = torch.from_numpy(255 - editing.full("CROPIMG.s12.src.img_crop"))[None]
    editing.check("PASTE.s12.composite", paste_back(inverted, m_c2o, image, mask)[0])


@pytest.mark.parametrize("name", ["s42", "s12"])
def test_round_trip_on_portraits(editing, name):
    """Two bilinear resamplings: exact where the mask is 0, mean error < 3 and 99 % of pixels within 15
    where it is 1 (the official code: mean 2.43, max 37 on s12, gen_meta.json); the soft band (2-10 % of
    the frame) is excluded."""
    diff, mask = round_trip(portrait(name), golden_track(editing, name))
    assert (diff[mask == 0] == 0).all()
    inside = diff[mask == 1]
    assert inside.mean() < 3 and np.percentile(inside, 99) <= 15


def smooth_picture(h: int = 500, w: int = 375) -> np.ndarray:
    y, x = np.mgrid[:h, :w]
    image = np.stack([127 + 100 * np.sin(x / 13.0), 127 + 100 * np.cos(y / 11.0), 127 + 60 * np.sin((x + y) / 17.0)], -1)
    return np.round(image).astype(np.uint8)


def test_round_trip_is_nearly_lossless_on_smooth_content(editing):
    """On smooth content the geometry alone is measured: a half-pixel misplacement would cost ~8 levels."""
    diff, mask = round_trip(smooth_picture(), golden_track(editing, "s12"))
    assert diff[mask == 1].max() <= 2 and (diff[mask == 0] == 0).all()


@pytest.mark.parametrize("size", [256, 1024, 2048])
def test_resized_crops_land_where_the_crop_was(editing, size):
    """A crop resized to ``size`` and pasted back lands on its own pixels, within one level (scaling the map
    without lining up pixel centres, a quarter-pixel slip, costs 2-3 levels and a mean over 1 here), with the
    mask's soft edge where the 512 mask has it."""
    track = golden_track(editing, "s12")
    diff, mask = round_trip(smooth_picture(), track, size)
    assert diff[mask == 1].max() <= 1 and diff[mask == 1].mean() < 0.5 and (diff[mask == 0] == 0).all()
    at_512 = warp_mask(paste_mask(), track.crop_to_original, (500, 375))[0].numpy()
    assert np.abs(mask - at_512).max() <= 0.08 and np.abs(mask - at_512).mean() < 3e-3


def test_resizing_to_the_crop_size_changes_nothing(editing):
    """Size 512 is the official paste bit for bit: the same map, the same mask, the official s12 composite."""
    m_c2o = torch.from_numpy(editing.full("CROPIMG.s12.src.M_c2o")).double()[None]
    same = resized_crop_to_original(m_c2o, 512, 512)
    assert torch.equal(same, m_c2o)
    for feather in (0.0, 7.5, 16.0, 100.0):
        assert torch.equal(paste_mask(512, feather, size=512), paste_mask(512, feather))
    image = portrait("s12")
    mask = warp_mask(paste_mask(512, size=512), same, image.shape[:2])
    inverted = torch.from_numpy(255 - editing.full("CROPIMG.s12.src.img_crop"))[None]
    editing.check("PASTE.s12.composite", paste_back(inverted, same, image, mask)[0])


def test_feather_scales_with_the_size():
    doubled = paste_mask(512, 16, size=1024).numpy()
    assert doubled.shape == (1024, 1024) and doubled[512, 32] == 255 and doubled[512, 0] == 0
    assert doubled[512, 16] == paste_mask(512, 16).numpy()[256, 8]  # halfway through the edge either way
    assert (doubled < 255).mean() == pytest.approx((paste_mask().numpy() < 255).mean(), abs=2e-3)


def test_feather_control():
    hard = paste_mask(512, 0).numpy()
    assert (hard == 255).all()
    wide = paste_mask(512, 32).numpy()
    assert (wide[32:481, 32:481] == 255).all() and wide[0, 256] == 0 and wide[256, 16] == 127
    assert (wide < 255).sum() > (paste_mask().numpy() < 255).sum()
    with pytest.raises(ValueError, match="feather"):
        paste_mask(512, 300)


def test_batched_paste_with_float_renders_and_kept_frames(editing):
    image = portrait("s12")
    track = golden_track(editing, "s12")
    mask = warp_mask(paste_mask(), track.crop_to_original, image.shape[:2])
    renders = torch.rand(3, 3, 512, 512)
    out = paste_back(renders, track.crop_to_original, image, mask, keep=torch.tensor([True, False, True]))
    assert out.shape == (3, *image.shape) and out.dtype == torch.uint8
    assert np.array_equal(out[1].numpy(), image)
    as_uint8 = (renders * 255).to(torch.uint8).permute(0, 2, 3, 1)  # truncation, as the official parse_output
    assert torch.equal(out[2], paste_back(as_uint8[2:], track.crop_to_original, image, mask)[0])


def test_crops_outside_the_frame_leave_it_untouched(editing):
    image = portrait("s12")
    far = golden_track(editing, "s12").crop_to_original.clone()
    far[:, :2, 2] += 5000
    mask = warp_mask(paste_mask(), far, image.shape[:2])
    assert float(mask.max()) == 0
    out = paste_back(torch.rand(2, 3, 512, 512), far, image, mask)
    assert out.shape == (2, *image.shape) and all(np.array_equal(o, image) for o in out.numpy())
