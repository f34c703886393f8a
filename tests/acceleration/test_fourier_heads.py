"""The Fourier route of W's heads (liveportrait_core/acceleration/fourier_heads.py) against the direct convolutions."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from liveportrait_core.acceleration import fourier_heads as route
from liveportrait_core.acceleration.depth_slices import DepthTapsConv3d, FlattenedDepthConv2d
from liveportrait_core.acceleration.fourier_heads import fourier_heads, kernel_spectra, kept_spectra_bytes, suits


def exact_heads(x: torch.Tensor, mask: torch.nn.Conv3d,
                occlusion: torch.nn.Conv2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Both heads in float64, the 3-D one summed over depth taps of 2-D convolutions (a float64 conv3d of the mask
    head's size would unfold ~25 GB)."""
    k, depth = mask.kernel_size[0], x.shape[2]
    x = x.double()
    slices = x.transpose(1, 2).flatten(0, 1)  # (B * D, C, H, W)
    exact = torch.zeros(x.shape[0], depth, mask.out_channels, *x.shape[3:], dtype=torch.float64)
    for t in range(k):
        shift = t - k // 2  # output slice z reads input slice z + shift
        taps = F.conv2d(slices, mask.weight[:, :, t].double(), padding=k // 2).unflatten(0, (x.shape[0], depth))
        exact[:, max(0, -shift):depth - max(0, shift)] += taps[:, max(0, shift):depth - max(0, -shift)]
    exact = exact.transpose(1, 2) + mask.bias.double().view(-1, 1, 1, 1)
    flat = F.conv2d(x.flatten(1, 2), occlusion.weight.double(), occlusion.bias.double(), padding=k // 2)
    return exact, flat


def relative_error(out: torch.Tensor, exact: torch.Tensor) -> float:
    """Largest deviation, relative to the largest value."""
    return ((out.double() - exact).abs().max() / exact.abs().max()).item()


def heads(channels: int, outputs: int, depth: int, k: int = 7) -> tuple[DepthTapsConv3d, FlattenedDepthConv2d]:
    return (DepthTapsConv3d(channels, outputs, kernel_size=k, padding=k // 2).eval(),
            FlattenedDepthConv2d(channels * depth, 1, kernel_size=k, padding=k // 2).eval())


@pytest.mark.slow
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
@pytest.mark.parametrize("k", [5, 7])
def test_fourier_heads_equal_the_direct_convolutions(layout, k, monkeypatch):
    """Three frames of a volume whose height and width are not multiples of the tile (2 x 3 tiles, the last ones
    partial) and whose depth (4) is shorter than the kernel, a frame per band (the depth taps reach past both ends):
    channels-last masks, within float32 rounding (measured ~2e-7; the direct convolutions ~1e-6)."""
    monkeypatch.setattr(route, "BAND_BYTES", 1)
    torch.manual_seed(0)
    mask, occlusion = heads(6, 5, 4, k)
    x = torch.randn(3, 6, 4, 40, 70).contiguous(memory_format=layout)
    with torch.inference_mode():
        masks, occlusions = fourier_heads(x, mask, occlusion)
        direct = F.conv3d(x, mask.weight, mask.bias, padding=k // 2), occlusion(x)
    assert masks.shape == (3, 5, 4, 40, 70) and masks.is_contiguous(memory_format=torch.channels_last_3d)
    assert occlusions.shape == (3, 1, 40, 70)
    exact = exact_heads(x, mask, occlusion)
    for name, ours, theirs, reference in zip(("mask", "occlusion"), (masks, occlusions), direct, exact):
        error = relative_error(ours, reference)
        print(f"{name}: relative error fourier {error:.1e}, direct {relative_error(theirs, reference):.1e}")
        assert error < 1e-6


@pytest.mark.slow
def test_mask_head_sized_convolutions_error_is_stated():
    """The heads' widths (142 -> 22, 7x7x7; 142 x 6 -> 1) over 64x64 slices (6 of their 16, for the float64
    reference's sake), torch's initial weights: relative error below 1e-6 (measured 3.5e-7)."""
    torch.manual_seed(0)
    mask, occlusion = heads(142, 22, 6)
    x = torch.randn(1, 142, 6, 64, 64)
    with torch.inference_mode():
        pairs = zip(fourier_heads(x, mask, occlusion), exact_heads(x, mask, occlusion))
        errors = [relative_error(ours, exact) for ours, exact in pairs]
    print(f"relative error of the mask head {errors[0]:.1e}, the occlusion head {errors[1]:.1e}")
    assert max(errors) < 1e-6


def test_suits_only_wide_float32_kernels():
    x = torch.zeros(1, 8, 4, 8, 8)
    assert suits(x, torch.zeros(2, 8, 7, 7, 7)) and suits(x, torch.zeros(2, 8, 5, 5, 5))
    assert not suits(x, torch.zeros(2, 8, 3, 3, 3))  # cheaper directly
    assert not suits(x, torch.zeros(2, 8, 7, 5, 5))  # not cubic
    assert not suits(x.bfloat16(), torch.zeros(2, 8, 7, 7, 7, dtype=torch.bfloat16))  # AMX runs the depth slices


@pytest.mark.slow
def test_warping_takes_the_route_only_where_it_is_on(synthetic_weights):
    """The dense motion network gives the same mask and occlusion with the route on and off (depth slices)."""
    import dataclasses

    from liveportrait_core.acceleration import Routes, accelerate
    from liveportrait_core.weights.files import load_networks

    torch.manual_seed(0)
    feature, kp_source = torch.randn(1, 32, 16, 64, 64) * 0.5, torch.rand(1, 21, 3) * 2 - 1
    kp_driving = kp_source + 0.02 * torch.randn(1, 21, 3)
    outputs = []
    for on in (True, False):
        routes = dataclasses.replace(Routes.for_device("cpu"), fourier_heads=on)
        networks = accelerate(load_networks(synthetic_weights, download=False), torch.device("cpu"), torch.float32,
                              routes=routes)
        dense = networks.warping.dense_motion_network
        with torch.inference_mode():
            outputs.append(dense(feature, kp_driving, kp_source))
        assert hasattr(dense.mask.weight, "_fourier") == on and hasattr(dense.occlusion.weight, "_fourier") == on
    for fourier, sliced in zip(*outputs):
        torch.testing.assert_close(fourier, sliced, rtol=1e-5, atol=1e-6)


def test_kernel_spectra_are_kept_and_budgeted():
    """Kept on the weight until it changes; ``kept_spectra_bytes`` counts them exactly for float32 heads and not at
    all for bf16 ones."""
    mask, occlusion = heads(6, 3, 4)
    first = kernel_spectra(mask.weight)
    assert kernel_spectra(mask.weight) is first
    with torch.no_grad():
        mask.weight.mul_(2)
    assert kernel_spectra(mask.weight) is not first
    flat = kernel_spectra(occlusion.weight, 4)
    assert flat.shape == (40 * 21, 6, 4)
    kept = sum(t.numel() * t.element_size() for t in (first, flat))
    assert kept_spectra_bytes(mask.weight) + kept_spectra_bytes(occlusion.weight) == kept
    assert kept_spectra_bytes(mask.weight.bfloat16()) == 0
