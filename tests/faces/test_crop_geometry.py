"""Crop geometry and landmark layouts against the official golden data (editing section 0-1, ``CROP.*``)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from liveportrait_core.faces.crop_geometry import (
    DRIVING_CROP, LANDMARK_RUNNER_CROP, CropParams, box_corners, crop_matrix, crop_rect, invert_affine, rect_to_box,
    transform_points,
)
from liveportrait_core.faces.landmark_layout import eye_mouth_points, mediapipe_to_203
from tests.support.faces import editing  # noqa: F401

LAYOUTS = ("pt203", "pt106", "pt68", "pt5")
# golden prefix -> crop parameters of the official call
CROPS = {
    "src": CropParams(),
    "src_norot": CropParams(rotate=False),
    "app": CropParams(scale=2.5),
    "lmkrunner": LANDMARK_RUNNER_CROP,
}


def points(editing, layout: str) -> torch.Tensor:
    return torch.from_numpy(editing.full(f"CROP.{layout}.pts"))


def test_mediapipe_478_maps_onto_the_fixture_203_layout(editing):
    lmk_cases = list(editing.full("LMK.cases"))
    crop_cases = list(editing.full("CROP.pt203.cases"))
    mapped = mediapipe_to_203(torch.from_numpy(editing.full("LMK.mp478"))).numpy()
    for i, case in enumerate(crop_cases):
        if case in lmk_cases:  # every case but the synthetic s42_small
            # the fixture mapped float64 landmarks; these are stored in float32: one float32 step of ~500 px
            np.testing.assert_allclose(mapped[lmk_cases.index(case)], editing.full("CROP.pt203.pts")[i], rtol=0, atol=1e-4)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_eye_mouth_points(editing, layout):
    pts = points(editing, layout).double()
    editing.check(f"CROP.{layout}.pt2", eye_mouth_points(pts, use_lip=True))
    editing.check(f"CROP.{layout}.pt2_nolip", eye_mouth_points(pts, use_lip=False))


def test_raw_mediapipe_points_are_refused_not_misread():
    with pytest.raises(ValueError, match="478 points .*mediapipe_to_203"):
        eye_mouth_points(torch.zeros(1, 478, 2))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_source_rect(editing, layout):
    pts = points(editing, layout)
    for prefix, use_lip in (("src", True), ("src_nolip", False)):
        rect = crop_rect(pts, 2.3, 0.0, -0.125, use_lip=use_lip)
        editing.check(f"CROP.{layout}.{prefix}.center", rect.center)
        editing.check(f"CROP.{layout}.{prefix}.size", rect.size[:, None].expand(-1, 2))
        editing.check(f"CROP.{layout}.{prefix}.angle", rect.angle)
    editing.check(f"CROP.{layout}.src.angle_deg", torch.rad2deg(crop_rect(pts, 2.3, 0.0, -0.125).angle))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("prefix", CROPS)
def test_crop_matrices_and_corners(editing, layout, prefix):
    pts = points(editing, layout)
    params = CROPS[prefix]
    m_o2c = crop_matrix(pts, params)
    m_c2o = invert_affine(m_o2c)
    editing.check(f"CROP.{layout}.{prefix}.M_o2c", m_o2c)
    editing.check(f"CROP.{layout}.{prefix}.M_c2o", m_c2o)
    d = params.dsize
    corners = torch.tensor([[0, 0], [d, 0], [d, d], [0, d]], dtype=torch.float64).expand(len(pts), 4, 2)
    editing.check(f"CROP.{layout}.{prefix}.corners_in_orig", transform_points(corners, m_c2o))
    if prefix == "src":
        editing.check(f"CROP.{layout}.src.pt_crop", transform_points(pts.double(), m_o2c))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_driving_box(editing, layout):
    rect = crop_rect(points(editing, layout), DRIVING_CROP.scale, DRIVING_CROP.vx_ratio, DRIVING_CROP.vy_ratio)
    editing.check(f"CROP.{layout}.drv.center", rect.center)
    editing.check(f"CROP.{layout}.drv.size", rect.size[:, None].expand(-1, 2))
    editing.check(f"CROP.{layout}.drv.angle", rect.angle)
    box = rect_to_box(rect)
    editing.check(f"CROP.{layout}.drv.bbox", box_corners(box))
    editing.check(f"CROP.{layout}.drv.bbox_rot", box_corners(box, rect.angle))


def test_vx_ratio_is_honoured(editing):
    """The official crop_image drops vx_ratio; parse_rect_from_landmark (and this code) honour it."""
    s42 = points(editing, "pt203")[:1]
    editing.check("CROP.vx_check.parse_rect_vx0.3.center", crop_rect(s42, 2.3, 0.3, -0.125).center[0])
    shifted = crop_matrix(s42, CropParams(vx_ratio=0.3))
    assert not torch.allclose(shifted, crop_matrix(s42))


def test_degenerate_landmarks_fall_back_to_upright():
    """Eyes and mouth on one point (length <= 1e-3): the official code takes uy = (0, 1)."""
    pts = torch.full((1, 203, 2), 50.0)
    pts[0, 108:141, 0] += torch.linspace(-10, 10, 33)
    rect = crop_rect(pts, 2.3)
    assert float(rect.angle) == 0.0 and float(rect.size) == pytest.approx(46.0)
