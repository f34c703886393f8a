"""Real crops against the official golden pixels (editing section 1, ``CROPIMG.*``): the source crop of
s42 / s12 (512 and its INTER_AREA 256) and the driving auto-crop of d20's first frames."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from liveportrait_core.faces.crop import cut_crops, network_input, track_source_image
from liveportrait_core.faces.crop_geometry import invert_affine
from liveportrait_core.faces.detector import FaceDetections
from liveportrait_core.faces.driving_crop import average_box, driving_boxes, track_driving_frames
from liveportrait_core.faces.warp import downscale2, warp_affine, warp_affine_uint8
from liveportrait_core.media import iter_video_frames
from tests.conftest import ASSETS, require
from tests.support.faces import editing, portrait  # noqa: F401

D20_FRAMES = slice(11, 19)  # rows of CROP.pt203.* that are d20_f0 … d20_f7


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def given_landmarks(pts: np.ndarray) -> list[FaceDetections]:
    """Detections that carry the golden landmarks (one face per row)."""
    t = torch.from_numpy(pts)
    return [FaceDetections(torch.zeros(1, 4), torch.ones(1), p[None], p[None]) for p in t]


def uint8_image(tensor: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float in [0, 1] holding exact multiples of 1/255 -> (H, W, 3) uint8."""
    return (tensor[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("name", ["s42", "s12"])
def test_source_crop_pixels(editing, name):
    image = portrait(name)
    assert sha256(image) == str(editing.full(f"CROPIMG.{name}.input_sha256"))
    row = list(editing.full("CROP.pt203.cases")).index(name)
    track = track_source_image(given_landmarks(editing.full("CROP.pt203.pts")[row:row + 1])[0])
    editing.check(f"CROPIMG.{name}.src.M_o2c", track.original_to_crop[0])
    editing.check(f"CROPIMG.{name}.src.M_c2o", track.crop_to_original[0])
    crop = cut_crops(image, track)
    editing.check(f"CROPIMG.{name}.src.img_crop", crop[0])
    editing.check(f"CROPIMG.{name}.src.img_crop_256", uint8_image(network_input(crop)))


def test_driving_autocrop_of_d20(editing):
    frames = next(iter_video_frames(require(ASSETS / "driving" / "d20.mp4"), chunk=8, limit=8))
    assert [sha256(f) for f in frames] == list(editing.full("CROPIMG.d20.frames_sha256"))
    pts = editing.full("CROP.pt203.pts")[D20_FRAMES]
    boxes = driving_boxes(torch.from_numpy(pts))
    editing.check("CROPIMG.d20.bbox_lst", boxes)
    editing.check("CROPIMG.d20.global_bbox", average_box(boxes))
    track = track_driving_frames(given_landmarks(pts))
    for i in range(len(track)):
        editing.check("CROPIMG.d20.M_o2c", track.original_to_crop[i])
        editing.check("CROPIMG.d20.M_c2o", track.crop_to_original[i])
    editing.check("CROPIMG.d20.lmk_crop", track.landmarks_crop)
    crop = cut_crops(frames[:1], track.select([0]))
    editing.check("CROPIMG.d20_f0.drv.img_crop", crop[0])
    editing.check("CROPIMG.d20_f0.drv.img_crop_256", uint8_image(network_input(crop)))


def test_warp_conventions_on_a_known_pattern():
    """Integer pixel centres, zero border, forward matrix: a shift by (+1.5, -0.5) of a ramp."""
    ramp = torch.arange(20, dtype=torch.float64).reshape(1, 1, 4, 5) * 10
    m = torch.tensor([[[1, 0, 1.5], [0, 1, -0.5], [0, 0, 1]]], dtype=torch.float64)
    out = warp_affine(ramp, m, (4, 5))[0, 0]
    src = ramp[0, 0]
    # dst(x, y) = src(x - 1.5, y + 0.5): interior bilinear, outside taps blend with 0
    assert out[1, 3] == pytest.approx(float(src[1:3, 1:3].mean()))
    assert out[0, 0] == 0 and out[3, 4] == pytest.approx(0.25 * float(src[3, 2] + src[3, 3]))
    identity = torch.eye(3, dtype=torch.float64)[None]
    image = torch.randint(0, 256, (2, 3, 7, 9), dtype=torch.uint8)
    assert torch.equal(warp_affine_uint8(image, identity, (7, 9)), image)


def test_downscale2_rounds_like_cv2():
    block = torch.tensor([[[[0, 1], [0, 1]], [[1, 1], [1, 0]], [[255, 255], [255, 254]]]], dtype=torch.uint8)
    # (sum + 2) >> 2: 2 -> 1 (half up), 3 -> 1, 1019 -> 255
    assert downscale2(block).flatten().tolist() == [1, 1, 255]


def test_crop_to_original_inverts(editing):
    track = track_source_image(given_landmarks(editing.full("CROP.pt203.pts")[:3])[0])
    product = track.crop_to_original @ track.original_to_crop
    assert torch.allclose(product, torch.eye(3, dtype=torch.float64).expand(1, 3, 3), atol=1e-12)
    assert torch.allclose(invert_affine(track.crop_to_original), track.original_to_crop, atol=1e-9)
