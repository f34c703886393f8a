"""The accelerated networks (``liveportrait_core/acceleration/``) against the official ones they replace.

Each route alone, and all of a device's routes together, must give the plain networks' outputs on random inputs
within the bounds below, on the device the tests run on (``LIVEPORTRAIT_TEST_DEVICE``, default CPU). The bounds are
what float32 rounding allows for the longest chain of reordered sums (Winograd's transforms: relative ~1e-5 of a
value); they hold for every CPU kind, since they bound the arithmetic, not one kernel's choices.
"""
from __future__ import annotations

import dataclasses
import os

import pytest
import torch
import torch.nn.functional as F

from liveportrait_core.acceleration import Routes, accelerate, accelerate_renderer, kept_kernel_bytes
from liveportrait_core.acceleration.generator import FastSPADEResnetBlock, fold_spectral_norm
from liveportrait_core.weights.files import load_networks
from liveportrait_core.networks import build_network
from liveportrait_core.networks.spade_generator import SPADEResnetBlock, SpectralConv2d

DEVICE = torch.device(os.environ.get("LIVEPORTRAIT_TEST_DEVICE", "cpu"))
# float32 bound per device type: (rtol, atol) of each output against the plain network's
FLOAT32_BOUNDS = {"cpu": (1e-4, 2e-5), "cuda": (1e-3, 1e-4)}
ROUTE_NAMES = [field.name for field in dataclasses.fields(Routes)]


def renderer_inputs(size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A feature volume (2, 32, 16, size, size) and driving / source keypoints (2, 21, 3): W and G take any height
    and width that the hourglass can halve five times, so a small one keeps each route's shapes and the test fast."""
    torch.manual_seed(0)
    feature = torch.randn(2, 32, 16, size, size) * 0.5
    kp_source = torch.rand(2, 21, 3) * 2 - 1
    return feature.to(DEVICE), (kp_source + 0.02 * torch.randn(2, 21, 3)).to(DEVICE), kp_source.to(DEVICE)


def render(warping, generator, inputs) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode():
        warped = warping(*inputs)
        return warped["out"], warped["occlusion_map"], warped["deformation"], generator(warped["out"])


@pytest.fixture(scope="module")
def plain_outputs(synthetic_weights):
    networks = load_networks(synthetic_weights, download=False)
    return render(networks.warping.to(DEVICE), networks.generator.to(DEVICE), renderer_inputs())


@pytest.mark.slow
@pytest.mark.parametrize("route", [*ROUTE_NAMES, "all"])
def test_each_route_computes_what_the_official_networks_compute(synthetic_weights, plain_outputs, route):
    """One route at a time (and all of the device's together) in float32, against the plain networks."""
    networks = load_networks(synthetic_weights, download=False)
    routes = Routes.for_device(DEVICE.type) if route == "all" else Routes(**{route: True})
    warping, generator = accelerate_renderer(networks.warping.to(DEVICE), networks.generator.to(DEVICE), DEVICE,
                                             torch.float32, routes=routes)
    rtol, atol = FLOAT32_BOUNDS[DEVICE.type]
    for name, fast, plain in zip(("out", "occlusion", "deformation", "image"),
                                 render(warping, generator, renderer_inputs()), plain_outputs):
        assert fast.shape == plain.shape and fast.dtype == plain.dtype, name
        print(f"{route} {name}: max |d| {(fast - plain).abs().max():.1e}")
        torch.testing.assert_close(fast, plain, rtol=rtol, atol=atol, msg=f"{route}: {name}")


@pytest.mark.slow
def test_appearance_blocks_compute_what_the_official_extractor_computes(synthetic_weights):
    torch.manual_seed(0)
    image = torch.rand(1, 3, 256, 256, device=DEVICE)
    plain, fast = (load_networks(synthetic_weights, download=False) for _ in range(2))
    accelerate(fast, DEVICE, torch.float32)
    with torch.inference_mode():
        torch.testing.assert_close(fast.appearance.to(DEVICE)(image), plain.appearance.to(DEVICE)(image),
                                   rtol=1e-4, atol=2e-5)


def test_the_pass_keeps_parameter_names_and_shares_the_weights(synthetic_weights):
    """Checkpoints and ComfyUI's model management see the same names; the drop-ins hold the loaded tensors (the
    spectral fold writes into them), not copies."""
    networks = load_networks(synthetic_weights, download=False)
    before = {field: dict(getattr(networks, field).named_parameters()) for field in ("appearance", "warping", "generator")}
    keys = {field: list(getattr(networks, field).state_dict()) for field in before}
    accelerate(networks, torch.device("cpu"), torch.float32, routes=Routes.for_device("cpu"))
    for field, params in before.items():
        module = getattr(networks, field)
        assert list(module.state_dict()) == keys[field], field
        assert all(p is params[name] for name, p in module.named_parameters()), field
    assert type(networks.warping.dense_motion_network).__name__ == "FastDenseMotionNetwork"


def test_plain_networks_are_the_official_modules_only():
    """No drop-in is left in a freshly built network: the official computation is the pass not applied."""
    for name in ("appearance_feature_extractor", "warping_module", "spade_generator"):
        modules = {type(m).__module__ for m in build_network(name).modules()}
        assert all(not m.startswith("liveportrait_core.acceleration") for m in modules), (name, modules)


@pytest.mark.parametrize("learned_shortcut", [True, False])
@pytest.mark.parametrize("folded_shortcut", [True, False])
def test_fast_spade_block_upsampling_its_input_equals_the_official_block(learned_shortcut, folded_shortcut):
    """The generator's upsampling blocks take the 2x smaller input (norm on it, modulation broadcast over pixels),
    with the learned shortcut folded into norm_s's beta convolution or not; float64, any layout."""
    torch.manual_seed(0)
    block = SPADEResnetBlock(8, 4 if learned_shortcut else 8, 6).double().eval()
    for conv in block.modules():  # power-iteration vectors, as a checkpoint has them
        if isinstance(conv, SpectralConv2d):
            conv.weight_u.normal_(), conv.weight_v.normal_()
    fast = FastSPADEResnetBlock(block, Routes(phases=True, folded_shortcut=folded_shortcut))
    x, seg = torch.randn(2, 8, 5, 6, dtype=torch.float64), torch.randn(2, 6, 5, 6, dtype=torch.float64)
    with torch.inference_mode():
        expected = block(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
        torch.testing.assert_close(fast(x, seg, upsample=2), expected, rtol=0, atol=1e-10)
        fast.to(memory_format=torch.channels_last)
        nhwc = fast(x.contiguous(memory_format=torch.channels_last), seg.contiguous(memory_format=torch.channels_last), 2)
    torch.testing.assert_close(nhwc, expected, rtol=0, atol=1e-10)


def test_folded_spectral_norm_computes_the_official_kernel_and_saves_back():
    """The official spectral norm (weight_orig / u.(W v)) divided into the kernel once; the saved state dict gives
    the same kernel when loaded into the official module (its sigma is then 1)."""
    torch.manual_seed(0)
    weight, u, v = torch.randn(6, 4, 3, 3), torch.randn(6), torch.randn(36)
    conv = SpectralConv2d(4, 6, 3)
    conv.load_state_dict({"weight_orig": weight, "bias": torch.zeros(6), "weight_u": u, "weight_v": v})
    x = torch.randn(1, 4, 8, 8)
    expected = F.conv2d(x, weight / (u @ (weight.flatten(1) @ v)), padding=1)
    torch.testing.assert_close(conv(x), expected, rtol=1e-6, atol=1e-6)
    folded = fold_spectral_norm(conv, winograd=False)
    torch.testing.assert_close(folded(x), expected, rtol=1e-5, atol=1e-5)
    assert list(folded.state_dict()) == list(conv.state_dict())
    again = SpectralConv2d(4, 6, 3)
    again.load_state_dict(folded.state_dict())
    torch.testing.assert_close(again(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_kept_kernel_bytes_bounds_what_a_float32_cpu_engine_keeps(synthetic_weights):
    """The size a host budgets for the kept transforms is at least what a float32 CPU generator and warping module
    keep after a frame, and not far above it; none in bf16 or without the routes."""
    networks = accelerate(load_networks(synthetic_weights, download=False), torch.device("cpu"), torch.float32,
                          routes=Routes.for_device("cpu"))
    feature, kp_driving, kp_source = (t.cpu()[:1] for t in renderer_inputs(64))
    with torch.inference_mode():
        networks.generator(networks.warping(feature, kp_driving, kp_source)["out"])
    container = torch.nn.ModuleList([networks.warping, networks.generator])
    kept = sum(getattr(p, tag)[1].numel() * getattr(p, tag)[1].element_size()
               for p in container.parameters() for tag in ("_winograd", "_fourier") if hasattr(p, tag))
    bound = kept_kernel_bytes(container)
    print(f"kept {kept / 2**20:.0f} MiB, budgeted {bound / 2**20:.0f} MiB")
    assert kept <= bound <= 1.1 * kept
    plain = load_networks(synthetic_weights, download=False)
    assert kept_kernel_bytes(torch.nn.ModuleList([plain.warping, plain.generator])) == 0
    low = accelerate(load_networks(synthetic_weights, download=False), torch.device("cpu"), torch.bfloat16)
    assert kept_kernel_bytes(torch.nn.ModuleList([low.warping, low.generator])) == 0
