"""Low-precision rendering agrees with the fp32 golden frames within stated tolerances (checked on CPU).

Policy (liveportrait_core/acceleration/layouts.py): F, M, the stitching MLPs and every coordinate computation stay float32;
only the hourglass, mask/occlusion heads and output convs of W, and all of G, run in fp16/bf16.
Stated deviations from the fp32 golden frame (values in [0, 1]):
  bf16: mean |diff| <= 0.010, max <= 0.08     fp16: mean |diff| <= 0.002, max <= 0.02
"""
from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np
import pytest
import torch

from liveportrait_core.acceleration import Routes, accelerate_renderer
from liveportrait_core.acceleration.depth_slices import conv2d_over_flattened_depth, conv3d_by_depth_taps
from liveportrait_core.acceleration.layouts import apply_layouts
from liveportrait_core.acceleration.warping import average_2x2
from liveportrait_core.motion.driving import DrivingOptions
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.pipeline import precision as precision_policy
from liveportrait_core.pipeline.precision import resolve_dtype
from liveportrait_core.weights.files import load_networks

DEVICE = os.environ.get("LIVEPORTRAIT_TEST_DEVICE", "cpu")
TOLERANCE = {"bf16": (0.010, 0.08), "fp16": (0.002, 0.02)}


def image(path) -> torch.Tensor:
    from PIL import Image

    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_frame_close_to_fp32_golden(golden, synthetic_weights, conformance_dir, precision):
    engine = LivePortraitEngine(load_networks(synthetic_weights, download=False), DEVICE, precision)
    source = engine.source(image(conformance_dir / "source_s6.png"))
    motion = engine.motion([image(conformance_dir / "driving_s0.png")], fps=25.0)
    kp = engine.driving_keypoints(source, motion, DrivingOptions(), driving_is_image=True)
    golden.check("E2E.image.frame0.kp_driving_final", kp)  # keypoints are computed in fp32 whatever the precision
    frame = next(engine.render(source, kp, chunk_size=1))
    assert frame.dtype == torch.float32 and torch.isfinite(frame).all()
    diff = golden.differences("E2E.image.frame0.out", frame)
    mean_tol, max_tol = TOLERANCE[precision]
    print(f"{precision} deviation from the fp32 golden frame: mean {diff.mean():.5f} max {diff.max():.4f}")
    assert diff.mean() <= mean_tol and diff.max() <= max_tol, (precision, diff.mean(), diff.max())
    assert diff.max() > 0  # it really ran in low precision


def test_policy_casts_only_the_heavy_parts(synthetic_weights):
    nets = load_networks(synthetic_weights, download=False)
    LivePortraitEngine(nets, "cpu", "bf16")
    assert nets.generator.fc.weight.dtype == torch.bfloat16
    assert nets.warping.dense_motion_network.hourglass.decoder.conv.weight.dtype == torch.bfloat16
    assert nets.warping.dense_motion_network.compress.weight.dtype == torch.float32
    for net in (nets.appearance, nets.motion, nets.stitching):
        assert all(p.dtype == torch.float32 for p in net.parameters())
    with pytest.raises(RuntimeError, match="already runs in"):
        apply_layouts({"warping": nets.warping, "generator": nets.generator}, torch.bfloat16)


@pytest.mark.slow
def test_generator_runs_channels_last_on_cpu_in_every_precision(synthetic_weights):
    """bf16 and float32 alike run G channels-last on a CPU with AVX-512; float32 keeps its dtype and its other parts
    as loaded; on CUDA, eager float32 stays as loaded (the policy decides, so the CPU checks it)."""
    low, full, cuda = (load_networks(synthetic_weights, download=False) for _ in range(3))
    engine = LivePortraitEngine(low, "cpu", "bf16")
    routes = dataclasses.replace(Routes.for_device("cpu"), float32_channels_last=True)
    full_engine = LivePortraitEngine(full, "cpu", "fp32", routes=routes)
    apply_layouts({"warping": cuda.warping, "generator": cuda.generator}, torch.float32, torch.device("cuda"))
    for nets in (low, full):
        assert nets.generator.fc.weight.is_contiguous(memory_format=torch.channels_last)
    assert full.generator.fc.weight.dtype == torch.float32
    assert not full.warping.third.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not cuda.generator.fc.weight.is_contiguous(memory_format=torch.channels_last)
    for e in (engine, full_engine):
        frames = e.generator(torch.rand(1, 256, 64, 64))
        assert frames.dtype == torch.float32 and frames.shape == (1, 3, 512, 512)


@pytest.mark.slow
def test_compiled_cuda_layout_keeps_the_warping_output(synthetic_weights):
    """For compiled CUDA runs the hourglass and mask head go channels-last (NDHWC); eager ones stay contiguous.
    The layout moves the bf16 output no further from float32 than bf16 itself does (checked with the CPU kernels:
    the policy, not the device, decides the layout). The two layouts are not bit-identical on every CPU: oneDNN's
    bf16 kernels sum in another order per layout where the CPU has no AMX."""
    cuda = torch.device("cuda")
    reference, eager, compiled = (load_networks(synthetic_weights, download=False) for _ in range(3))
    for nets, compile in ((eager, False), (compiled, True)):
        nets.warping, nets.generator = accelerate_renderer(nets.warping, nets.generator, cuda, torch.bfloat16,
                                                           compiled=compile, routes=Routes.for_device("cuda"))
    hourglass = (n.warping.dense_motion_network.hourglass.decoder.conv.weight for n in (eager, compiled))
    assert [w.is_contiguous(memory_format=torch.channels_last_3d) for w in hourglass] == [False, True]
    assert compiled.generator.fc.weight.is_contiguous(memory_format=torch.channels_last)
    assert not eager.generator.fc.weight.is_contiguous(memory_format=torch.channels_last)
    torch.manual_seed(0)
    feature, kp_driving = torch.randn(1, 32, 16, 64, 64) * 0.5, torch.randn(1, 21, 3) * 0.3
    kp_source = kp_driving + 0.02 * torch.randn(1, 21, 3)
    with torch.inference_mode():
        exact, a, b = (n.warping(feature, kp_driving, kp_source)["out"] for n in (reference, eager, compiled))
    layout, rounding = (a - b).abs().mean().item(), (a - exact).abs().mean().item()
    print(f"mean |channels-last - contiguous| {layout:.1e}, mean |bf16 - float32| {rounding:.1e}")
    assert layout <= rounding


@pytest.mark.parametrize("depth", [5, 9])  # fewer and more slices than the kernel's 7 taps
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_mask_head_by_depth_taps_is_the_3d_convolution(layout, depth):
    """The CPU mask head (one 2-D convolution of every depth slice, then shifted sums) is the 'same' 7x7x7 one."""
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(10, 22, 7, padding=3).double()
    x = torch.randn(2, 10, depth, 12, 12, dtype=torch.float64).contiguous(memory_format=layout)
    out = conv3d_by_depth_taps(x, conv)
    assert out.dtype == torch.float32 and out.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(out, conv(x).float(), rtol=0, atol=1e-5)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last_3d])
def test_occlusion_head_over_depth_slices_is_the_flattened_convolution(layout):
    """The CPU occlusion head equals the official 2-D convolution over (channel, depth) flattened into channels."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(6 * 4, 3, 7, padding=3).double()
    x = torch.randn(2, 6, 4, 10, 10, dtype=torch.float64).contiguous(memory_format=layout)
    out = conv2d_over_flattened_depth(x, conv)
    assert out.shape == (2, 3, 10, 10) and out.dtype == torch.float32
    torch.testing.assert_close(out, conv(x.reshape(2, 24, 10, 10)).float(), rtol=0, atol=1e-5)


def test_sliced_heads_in_bf16_sum_in_float32():
    """bf16 slices, float32 sums: the mask head is no further from float32 than cuDNN-style bf16 convolution."""
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(16, 22, 7, padding=3)
    x = torch.randn(1, 16, 8, 16, 16)
    ref = conv(x)
    direct = conv.to(torch.bfloat16)(x.bfloat16()).float()
    taps = conv3d_by_depth_taps(x.bfloat16(), conv)
    relative = [((out - ref).norm() / ref.norm()).item() for out in (direct, taps)]
    assert relative[1] < 1.5 * relative[0] < 0.01, relative


def test_hourglass_pooling_keeps_a_channels_last_volume_channels_last():
    x = torch.randn(2, 6, 3, 8, 8)
    plain, nhwc = average_2x2(x), average_2x2(x.contiguous(memory_format=torch.channels_last_3d))
    assert nhwc.is_contiguous(memory_format=torch.channels_last_3d) and nhwc.shape == (2, 6, 3, 4, 4)
    torch.testing.assert_close(nhwc, plain)
    torch.testing.assert_close(plain, torch.nn.functional.avg_pool3d(x, (1, 2, 2)))


def test_auto_precision_is_fp32_on_cpu_and_rejects_unknown():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    with pytest.raises(ValueError, match="not one of"):
        resolve_dtype("int8", torch.device("cpu"))


@pytest.mark.parametrize("native", [True, False])
def test_fp16_on_a_cpu_without_fp16_arithmetic_warns_that_it_is_emulated(monkeypatch, native):
    monkeypatch.setattr(precision_policy, "cpu_has_fp16_arithmetic", lambda: native)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_dtype("fp16", torch.device("cpu")) == torch.float16  # the choice is kept, with its cost said
        assert resolve_dtype("bf16", torch.device("cpu")) == torch.bfloat16
    assert [str(w.message) for w in caught if "emulated" in str(w.message)] == ([] if native else [
        "this CPU has no fp16 arithmetic (AVX512-FP16 or AMX-FP16), so fp16 is emulated and renders many times "
        "slower than fp32 (docs/performance.md); choose fp32, or bf16 for less memory"])


@pytest.mark.parametrize("capability, precision, expected, warns", [
    ((9, 0), "auto", torch.float16, False),  # the official default on tensor-core GPUs
    ((9, 0), "bf16", torch.bfloat16, False),
    ((7, 5), "bf16", torch.float16, True),  # no bf16 before Ampere
    ((6, 1), "auto", torch.float32, False),  # no tensor cores
    ((5, 2), "fp16", torch.float32, True),  # no fast fp16 at all
])
def test_cuda_precision_follows_the_gpu(monkeypatch, capability, precision, expected, warns):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Some GPU")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_dtype(precision, torch.device("cuda")) == expected
    assert bool([w for w in caught if "Some GPU" in str(w.message)]) == warns


@pytest.mark.parametrize("amx", [True, False])
def test_auto_precision_on_an_amx_cpu_says_bf16_is_faster(synthetic_weights, monkeypatch, caplog, amx):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    with caplog.at_level("INFO", logger="liveportrait_core.pipeline.engine"):
        engine = LivePortraitEngine(load_networks(synthetic_weights, download=False), "cpu", "auto")
    assert engine.dtype == torch.float32
    assert ("precision 'bf16' renders about 4x faster" in caplog.text) == amx



def test_float32_stays_contiguous_on_a_cpu_without_avx512(monkeypatch):
    """With AVX2 alone, float32 channels-last was slower (W and G), so the route is off there."""
    for capability, on in (("AVX2", False), ("AVX512", True)):
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
        assert Routes.for_device("cpu").float32_channels_last == on
