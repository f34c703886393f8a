"""The five networks reproduce the official module outputs recorded in ../shared/conformance (fp32, CPU)."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from liveportrait_core.networks import NETWORK_NAMES
from liveportrait_core.pipeline.render import to_uint8, warp_decode
from liveportrait_core.weights.checkpoints import load_network

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


DEVICE = os.environ.get("LIVEPORTRAIT_TEST_DEVICE", "cpu")  # set to cuda to run the conformance on a GPU


@pytest.fixture(scope="module")
def nets(synthetic_weights):
    torch.set_grad_enabled(False)
    if DEVICE.startswith("cuda"):  # the golden data is strict fp32
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    return {n: load_network(n, synthetic_weights / f"{n}.pth", device=DEVICE) for n in NETWORK_NAMES}


@pytest.fixture(scope="module")
def inputs(conformance_dir):
    from PIL import Image

    def load(name):
        rgb = np.asarray(Image.open(conformance_dir / name).convert("RGB"))
        return (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255).to(DEVICE)

    return {"source": load("source_s6.png"), "driving": load("driving_s0.png"), "driving_flip": load("driving_s0_flip.png")}


def hooked(module: torch.nn.Module, points: dict[str, torch.nn.Module], record: dict) -> list:
    """Register forward hooks that store each point's output under its golden debug name."""
    return [m.register_forward_hook(lambda _m, _i, out, key=k: record.__setitem__(key, out)) for k, m in points.items()]


def test_inputs_are_exact(golden, inputs):
    for tag, x in inputs.items():
        golden.check(f"input.{tag}", x)


def test_appearance_extractor(golden, nets, inputs):
    f = nets["appearance_feature_extractor"]
    rec: dict = {}
    handles = hooked(f, {"F.dbg.first_out": f.first, "F.dbg.down0_out": f.down_blocks[0], "F.dbg.down1_out": f.down_blocks[1],
                         "F.dbg.second_out": f.second, "F.dbg.resblock0_out": f.resblocks_3d[0]}, rec)
    golden.check("F.feature_3d", f(inputs["source"]))
    for h in handles:
        h.remove()
    for name, value in rec.items():
        golden.check(name, value)


@pytest.mark.parametrize("tag", ["source", "driving", "driving_flip"])
def test_motion_extractor(golden, nets, inputs, tag):
    m = nets["motion_extractor"]
    rec: dict = {}
    handles = hooked(m, {"M.dbg.stage0_out": m.detector.stages[0], "M.dbg.stage3_out": m.detector.stages[3],
                         "M.dbg.pooled_norm_out": m.detector.norm}, rec)
    raw = m(inputs[tag])
    for h in handles:
        h.remove()
    for key, value in raw.items():
        golden.check(f"M.{tag}.raw.{key}", value)
    if tag == "source":
        for name, value in rec.items():
            golden.check(name, value)


@pytest.mark.slow
def test_motion_extractor_batch_equals_single(nets, inputs):
    m = nets["motion_extractor"]
    batch = m(torch.cat([inputs["driving"], inputs["driving_flip"]]))
    single = m(inputs["driving_flip"])
    for key in batch:
        torch.testing.assert_close(batch[key][1:], single[key], atol=1e-5, rtol=1e-4)


def kp(golden, name):
    return torch.from_numpy(golden.full(name)).to(DEVICE)


def test_warping_isolated(golden, nets):
    feature = np.float32(0.5 * np.random.default_rng(1235).standard_normal((1, 32, 16, 64, 64)))
    golden.check("ISO.W.input_feature", feature)
    out = nets["warping_module"](torch.from_numpy(feature).to(DEVICE), kp(golden, "M.driving.x_transformed"), kp(golden, "M.source.x_transformed"))
    for key in ("out", "occlusion_map", "deformation"):
        golden.check(f"ISO.W.{key}", out[key])


@pytest.mark.slow
def test_generator_isolated(golden, nets):
    feature = np.float32(0.2 * np.random.default_rng(1234).standard_normal((1, 256, 64, 64)))
    golden.check("ISO.G.input_feature", feature)
    golden.check("ISO.G.out", nets["spade_generator"](torch.from_numpy(feature).to(DEVICE)))


@pytest.mark.slow
def test_chain_warp_decode(golden, nets, inputs):
    """F -> W -> G as the official wrapper chains them, with W's and G's debug points."""
    w, g = nets["warping_module"], nets["spade_generator"]
    dm = w.dense_motion_network
    rec: dict = {}
    handles = hooked(w, {"W.dbg.dm_compress_out": dm.compress, "W.dbg.dm_hg_bottleneck": dm.hourglass.encoder.down_blocks[4],
                         "W.dbg.dm_mask_logits": dm.mask, "W.dbg.fourth_out": w.fourth}, rec)
    handles += hooked(g, {"G.dbg.fc_out": g.fc, "G.dbg.G_middle_0_out": g.G_middle_0, "G.dbg.G_middle_5_out": g.G_middle_5,
                          "G.dbg.up_0_out": g.up_0, "G.dbg.up_1_out": g.up_1, "G.dbg.conv_img_logits": g.conv_img[0]}, rec)
    feature = nets["appearance_feature_extractor"](inputs["source"])
    wout = w(feature, kp(golden, "M.driving.x_transformed"), kp(golden, "M.source.x_transformed"))
    for key in ("out", "occlusion_map", "deformation"):
        golden.check(f"W.{key}", wout[key])
    image = g(wout["out"])
    for h in handles:
        h.remove()
    golden.check("G.out", image)
    golden.check("G.out_uint8", to_uint8(image)[0])
    for name, value in rec.items():
        golden.check(name, value)
    # the render helper is the same computation
    torch.testing.assert_close(warp_decode(w, g, feature, kp(golden, "M.source.x_transformed"), kp(golden, "M.driving.x_transformed")), image)
