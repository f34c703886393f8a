"""The faster routes (liveportrait_core/networks/routes.py) compute what the official arithmetic computes."""
from __future__ import annotations

import contextlib

import torch

from liveportrait_core.networks.routes import ROUTES, official_arithmetic, switched
from liveportrait_core.pipeline.engine import LivePortraitEngine
from liveportrait_core.weights.files import load_networks


def test_networks_compute_the_same_with_every_route_off(synthetic_weights):
    """The official arithmetic (every route off, as the benchmark's official-style loop runs) gives the same W and G
    outputs as the routes the CPU takes."""
    cpu_routes = ("sliced_heads", "phases", "flush_heatmaps", "folded_shortcut", "winograd", "fourier_heads")
    assert all("cpu" in ROUTES[name] for name in cpu_routes)
    torch.manual_seed(0)
    feature = torch.randn(1, 32, 16, 64, 64) * 0.5
    kp_source = torch.rand(1, 21, 3) * 2 - 1
    kp_driving = kp_source + 0.02 * torch.randn(1, 21, 3)
    outputs = []
    for routes in (contextlib.nullcontext, official_arithmetic):
        with routes(), torch.inference_mode():
            nets = LivePortraitEngine(load_networks(synthetic_weights, download=False), "cpu", "fp32").networks
            warped = nets.warping(feature, kp_driving, kp_source)["out"]
            outputs.append((warped, nets.generator(warped)))
    assert ROUTES["phases"] == {"cpu"}  # restored after the block
    for ours, official in zip(*outputs):
        torch.testing.assert_close(ours, official, rtol=1e-4, atol=1e-5)


def test_a_switched_route_is_restored():
    with switched("phases", "cuda", True):
        assert "cuda" in ROUTES["phases"]
        with switched("phases", "cpu", False):
            assert "cpu" not in ROUTES["phases"]
        assert "cpu" in ROUTES["phases"]
    assert "cuda" not in ROUTES["phases"]


def test_folded_shortcut_is_the_learned_shortcut():
    """conv_s folded into norm_s's beta convolution gives the official conv_s(norm_s(x)), also upsampling."""
    import torch.nn.functional as F

    from liveportrait_core.networks.spade_generator import SPADEResnetBlock

    torch.manual_seed(0)
    block = SPADEResnetBlock(8, 4, 6).double().eval()
    x, seg = torch.randn(2, 8, 5, 6, dtype=torch.float64), torch.randn(2, 6, 5, 6, dtype=torch.float64)
    with torch.inference_mode():
        folded = block(x, seg, upsample=2)
        with switched("folded_shortcut", "cpu", False):
            official = block(F.interpolate(x, scale_factor=2, mode="nearest"), seg)
    torch.testing.assert_close(folded, official, rtol=0, atol=1e-10)
