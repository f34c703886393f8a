"""The phase route of a convolution after nearest upsampling equals upsampling then convolving."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from liveportrait_core.acceleration.upsampled_conv import axis_phases, conv_by_phases, upsample_then_conv


def reference(x: torch.Tensor, weight: torch.Tensor, bias, scale: int) -> torch.Tensor:
    x = F.interpolate(x, scale_factor=(1,) * (x.ndim - 4) + (scale, scale), mode="nearest")
    conv = F.conv2d if x.ndim == 4 else F.conv3d
    return conv(x, weight, bias, padding=tuple(n // 2 for n in weight.shape[2:]))


def test_axis_phases_fold_every_tap_once():
    """x4, 3 taps: the edge phases read two coarse pixels, the middle ones one, and every tap lands somewhere."""
    phases = axis_phases(4, 3)
    assert [first for first, _ in phases] == [-1, 0, 0, 0]
    assert [fold.shape[0] for _, fold in phases] == [2, 1, 1, 2]
    assert all(torch.equal(fold.sum(0), torch.ones(3)) for _, fold in phases)


@pytest.mark.parametrize("scale,kernel", [(2, 3), (3, 3), (4, 3), (2, 5), (4, 1)])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_2d_phases_equal_upsample_then_conv(scale, kernel, layout):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 9, 7, dtype=torch.float64).contiguous(memory_format=layout)
    weight, bias = torch.randn(6, 5, kernel, kernel, dtype=torch.float64), torch.randn(6, dtype=torch.float64)
    out = conv_by_phases(x, weight, bias, scale)
    assert out.is_contiguous(memory_format=layout)
    torch.testing.assert_close(out, reference(x, weight, bias, scale), rtol=0, atol=1e-12)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_3d_phases_upsample_height_and_width_only(layout):
    torch.manual_seed(0)
    x = torch.randn(2, 4, 3, 8, 10, dtype=torch.float64).contiguous(memory_format=layout)
    weight = torch.randn(5, 4, 3, 3, 3, dtype=torch.float64)
    out = conv_by_phases(x, weight, None, 2)
    assert out.shape == (2, 5, 3, 16, 20) and out.is_contiguous(memory_format=layout)
    torch.testing.assert_close(out, reference(x, weight, None, 2), rtol=0, atol=1e-12)


def test_small_inputs_and_scale_one_take_the_direct_route():
    torch.manual_seed(0)
    weight = torch.randn(3, 2, 3, 3)
    for x, scale in ((torch.randn(1, 2, 4, 4), 2), (torch.randn(1, 2, 16, 16), 1)):
        torch.testing.assert_close(upsample_then_conv(x, weight, None, scale), reference(x, weight, None, scale))


def test_bf16_phases_are_as_close_to_float32_as_bf16_upsample_then_conv():
    """Kernels fold in float32 and round once, so the phase route adds no error of its own in bf16."""
    torch.manual_seed(0)
    x, weight = torch.randn(2, 64, 16, 16), torch.randn(32, 64, 3, 3) / 24
    exact = reference(x, weight, None, 4)
    errors = [((route(x.bfloat16(), weight.bfloat16(), None, 4).float() - exact).norm() / exact.norm()).item()
              for route in (reference, conv_by_phases)]
    assert errors[1] < 1.5 * errors[0] < 0.02, errors
