"""Eye / lip open ratios against the official golden values (editing section 3, ``RATIO.*``), in the
shapes ``liveportrait_core.motion.retargeting`` takes."""
from __future__ import annotations

import pytest
import torch

from liveportrait_core.faces.ratios import eye_open_ratio, lip_open_ratio
from liveportrait_core.motion.retargeting import combined_eye_ratio, combined_lip_ratio
from tests.support.faces import editing  # noqa: F401


def test_ratios_of_every_case(editing):
    assert list(editing.full("RATIO.cases")) == list(editing.full("CROP.pt203.cases"))
    lmk = torch.from_numpy(editing.full("CROP.pt203.pts"))
    eye, lip = eye_open_ratio(lmk), lip_open_ratio(lmk)
    assert eye.shape == (19, 2) and lip.shape == (19, 1) and eye.dtype == lip.dtype == torch.float32
    editing.check("RATIO.eye", eye)
    editing.check("RATIO.lip", lip)


def test_source_ratios_feed_the_retargeting_conditions(editing):
    s42 = torch.from_numpy(editing.full("CROP.pt203.pts")[:1])
    eye, lip = eye_open_ratio(s42), lip_open_ratio(s42)  # source: (1, 2), (1, 1)
    editing.check("RATIO.s42.eye_with_target", torch.cat((eye, torch.tensor([[0.25]])), dim=1))
    editing.check("RATIO.s42.combined_eye_ratio", combined_eye_ratio(eye, torch.tensor([[0.25]])))
    editing.check("RATIO.s42.combined_lip_ratio", combined_lip_ratio(lip, torch.tensor([[0.4]])))


def test_ratios_ignore_scale_rotation_and_translation(editing):
    lmk = torch.from_numpy(editing.full("CROP.pt203.pts")).double()
    angle = torch.tensor(0.7, dtype=torch.float64)
    rot = torch.stack((torch.stack((angle.cos(), -angle.sin())), torch.stack((angle.sin(), angle.cos()))))
    moved = (lmk @ rot.T * 3.1 + torch.tensor([40.0, -7.0], dtype=torch.float64)).float()
    assert torch.allclose(eye_open_ratio(moved), eye_open_ratio(lmk.float()), atol=1e-4)  # float32 landmarks near 1000 px
    assert torch.allclose(lip_open_ratio(moved), lip_open_ratio(lmk.float()), atol=1e-4)  # float32 landmarks near 1000 px


def test_other_layouts_are_refused():
    with pytest.raises(ValueError, match="203"):
        eye_open_ratio(torch.zeros(2, 106, 2))
