"""The Winograd route of 3x3 convolutions (liveportrait_core/acceleration/winograd.py) against the direct convolution."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from liveportrait_core.acceleration import winograd
from liveportrait_core.acceleration.winograd import same_conv, suits, transformed_kernel, winograd_conv3x3


def relative_error(out: torch.Tensor, x: torch.Tensor, weight: torch.Tensor, bias) -> float:
    """Largest deviation from the float64 direct convolution, relative to its largest value."""
    exact = F.conv2d(x.double(), weight.double(), None if bias is None else bias.double(), padding=1)
    return ((out.double() - exact).abs().max() / exact.abs().max()).item()


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("band_rows", [2, 10])
def test_winograd_equals_the_direct_convolution(layout, with_bias, band_rows, monkeypatch):
    """Three frames of a non-square image (5 x 4 tiles), run in bands of two tile rows of one frame (3 bands a frame,
    the last short) or of two whole frames (2 bands, the last short): float32 rounding only, in the input's layout."""
    tile_row_bytes = 36 * 24 * 4 * 4  # 36 transformed values x 24 channels x 4 tiles x 4 bytes
    monkeypatch.setattr(winograd, "BAND_BYTES", band_rows * tile_row_bytes)
    torch.manual_seed(0)
    x = torch.randn(3, 24, 20, 16).contiguous(memory_format=layout)
    weight = torch.randn(16, 24, 3, 3) / 15
    bias = torch.randn(16) if with_bias else None
    out = winograd_conv3x3(x, weight, bias)
    assert out.shape == (3, 16, 20, 16) and out.is_contiguous(memory_format=layout)
    direct = F.conv2d(x, weight, bias, padding=1)
    assert relative_error(out, x, weight, bias) < 5e-6
    print(f"relative error: winograd {relative_error(out, x, weight, bias):.1e}, "
          f"direct {relative_error(direct, x, weight, bias):.1e}")


def test_generator_sized_convolution_error_is_stated():
    """A 512 -> 512 convolution at 64x64, as the generator's middle blocks run: relative error below 3e-5 (measured
    ~1e-5, against ~3e-6 for the direct float32 convolution)."""
    torch.manual_seed(0)
    x = torch.randn(1, 512, 64, 64)
    weight = torch.randn(512, 512, 3, 3) / (512 * 9) ** 0.5
    bias = torch.randn(512)
    error = relative_error(winograd_conv3x3(x, weight, bias), x, weight, bias)
    print(f"relative error 512 -> 512 at 64x64: {error:.1e}")
    assert error < 3e-5


def test_suits_only_wide_float32_3x3_convolutions():
    x = torch.zeros(1, 128, 8, 12)
    assert suits(x, torch.zeros(128, 128, 3, 3))
    assert not suits(x, torch.zeros(64, 128, 3, 3))  # too narrow: transform-bound
    assert not suits(x, torch.zeros(128, 128, 1, 1))
    assert not suits(x.bfloat16(), torch.zeros(128, 128, 3, 3, dtype=torch.bfloat16))  # rounding too coarse
    assert not suits(torch.zeros(1, 128, 8, 10), torch.zeros(128, 128, 3, 3))  # width not a multiple of 4


def test_same_conv_takes_the_route_only_when_asked():
    """2-D 3x3 convolutions that suit it, when asked; other kernels and 3-D convolutions stay direct."""
    torch.manual_seed(0)
    x, weight, bias = torch.randn(1, 128, 8, 8), torch.randn(128, 128, 3, 3) / 34, torch.randn(128)
    assert torch.equal(same_conv(x, weight, bias, winograd=True), winograd_conv3x3(x, weight, bias))
    assert torch.equal(same_conv(x, weight, bias, winograd=False), F.conv2d(x, weight, bias, padding=1))
    five = torch.randn(128, 128, 5, 5)  # other kernels keep their 'same' padding
    assert torch.equal(same_conv(x, five, None), F.conv2d(x, five, None, padding=2))
    volume, kernel3d = torch.randn(1, 128, 2, 8, 8), torch.randn(128, 128, 3, 3, 3) / 60
    assert torch.equal(same_conv(volume, kernel3d, None, winograd=True), F.conv3d(volume, kernel3d, None, padding=1))


def test_transformed_kernel_is_kept_until_the_weight_changes():
    weight = torch.nn.Parameter(torch.randn(4, 3, 3, 3), requires_grad=False)
    first = transformed_kernel(weight)
    assert transformed_kernel(weight) is first  # kept on the weight
    with torch.no_grad():
        weight.mul_(2)  # e.g. load_state_dict copying into it
    again = transformed_kernel(weight)
    assert again is not first
    torch.testing.assert_close(again, 2 * first)
    weight.data = weight.data.double()  # a cast, as Module.double() does it
    assert transformed_kernel(weight).dtype == torch.float64
    plain = torch.randn(4, 3, 3, 3)  # a kernel made per call (e.g. a folded one) is not kept
    transformed_kernel(plain)
    assert not hasattr(plain, "_winograd")
