"""Expression editor: the official slider golden data (SLIDER.*), neutral no-ops, the slider table, I/O."""
from __future__ import annotations

import json
from dataclasses import fields, replace

import numpy as np
import pytest
import torch

from liveportrait_core.editing.apply_sliders import expression_offset, posed_keypoints, slider_keypoints, slider_motion, slider_retargeting
from liveportrait_core.editing.slider_files import load_sliders, save_sliders
from liveportrait_core.editing.sliders import OFFICIAL_ARGUMENTS, SLIDERS, SLIDER_KEYPOINTS, TARGETS, ExpressionSliders, slider_table
from liveportrait_core.faces.ratios import eye_open_ratio, lip_open_ratio
from liveportrait_core.motion.pose import rotation_matrix, rotation_to_degrees, transform_keypoints
from liveportrait_core.motion.retargeting import stitch
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.weights.checkpoints import load_network
from tests.support.faces import editing  # noqa: F401  (fixture: the editing golden data, its comparison rules)

EXPRESSION_SLIDERS = [name for name, spec in SLIDERS.items() if spec.target == "exp"]


def tensor(golden, name: str) -> torch.Tensor:
    return torch.from_numpy(np.asarray(golden.full(name)))


@pytest.fixture(scope="module")
def stitcher(synthetic_weights):
    torch.set_grad_enabled(False)
    return load_network("stitching_retargeting_module", synthetic_weights / "stitching_retargeting_module.pth")


@pytest.fixture(scope="module")
def source(editing) -> MotionSequence:
    """The slider source (``SLIDER.source.*``), ratios computed from its landmarks with ``faces.ratios``."""
    info = {k: tensor(editing, f"SLIDER.source.kp_info.{k}") for k in ("pitch", "yaw", "roll", "exp", "kp", "scale", "t")}
    R = rotation_matrix(info["pitch"], info["yaw"], info["roll"])
    lmk = tensor(editing, "SLIDER.source.lmk")[None]
    return MotionSequence(R=R, exp=info["exp"], scale=info["scale"], t=info["t"], kp=info["kp"],
                          x_s=transform_keypoints(info["kp"], R, info["exp"], info["scale"], info["t"]),
                          eye_ratio=eye_open_ratio(lmk), lip_ratio=lip_open_ratio(lmk))


@pytest.fixture(scope="module")
def golden_sliders(editing) -> ExpressionSliders:
    """All 55 golden cases as one per-frame slider state."""
    values = editing.full("SLIDER.values")
    return ExpressionSliders.from_official({a: values[:, i] for i, a in enumerate(editing.full("SLIDER.arg_names"))})


def test_slider_source_matches_golden(editing, source):
    editing.check("SLIDER.source.R_s", source.R)
    editing.check("SLIDER.source.x_s", source.x_s)
    editing.check("SLIDER.source.eye_ratio", source.eye_ratio)
    editing.check("SLIDER.source.lip_ratio", source.lip_ratio)
    rounded = [round(float(source.eye_ratio.mean()), 2), round(float(source.lip_ratio.mean()), 2)]
    editing.check("SLIDER.source.slider_ratios", np.array(rounded))
    assert sorted(OFFICIAL_ARGUMENTS) == sorted(editing.full("SLIDER.arg_names"))


def test_all_slider_cases_match_golden(editing, source, stitcher, golden_sliders):
    """The 55 official cases in one batch: every intermediate of execute_image_retargeting."""
    n = len(editing.full("SLIDER.cases"))
    edited = slider_motion(source, golden_sliders)
    assert len(edited) == n
    editing.check("SLIDER.delta_new", edited.exp[:, None])
    editing.check("SLIDER.R_d_user", edited.R[:, None])
    editing.check("SLIDER.R_d_new", edited.R[:, None])
    x_raw = posed_keypoints(edited)
    editing.check("SLIDER.x_d_raw", x_raw[:, None])
    retarget = slider_retargeting(stitcher, source, golden_sliders, n)
    editing.check("SLIDER.eye_retarget_applied", retarget.eye_applied)
    editing.check("SLIDER.lip_retarget_applied", retarget.lip_applied)
    editing.check("SLIDER.eyes_delta", retarget.eye_delta[:, None])
    editing.check("SLIDER.lip_delta", retarget.lip_delta[:, None])
    editing.check("SLIDER.combined_eye_ratio", retarget.eye_ratio[:, None])
    editing.check("SLIDER.combined_lip_ratio", retarget.lip_ratio[:, None])
    before = x_raw + retarget.eye_delta + retarget.lip_delta
    editing.check("SLIDER.x_d_before_stitching", before[:, None])
    stitched = slider_keypoints(stitcher, source, golden_sliders)
    unstitched = slider_keypoints(stitcher, source, golden_sliders, stitching=False)
    assert torch.equal(unstitched, before)
    assert torch.equal(stitched, stitch(stitcher, source.x_s, before))
    on = tensor(editing, "SLIDER.stitching")[:, None, None]
    editing.check("SLIDER.x_d_final", torch.where(on, stitched, unstitched)[:, None])


@pytest.mark.slow
def test_rendered_slider_image_matches_golden(editing, conformance_dir, synthetic_weights):
    """combo2 through the engine: source_s6.png as an already-cropped source, W + G on the synthetic weights."""
    from PIL import Image

    from liveportrait_core.pipeline.engine import LivePortraitEngine
    from liveportrait_core.weights.files import load_networks
    from liveportrait_core.pipeline.render import to_uint8

    engine = LivePortraitEngine(load_networks(synthetic_weights, download=False), device="cpu", precision="fp32")
    rgb = np.array(Image.open(conformance_dir / "source_s6.png").convert("RGB"))
    image = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255
    lmk = tensor(editing, "SLIDER.source.lmk")[None]
    state = engine.source(image, eye_ratio=eye_open_ratio(lmk), lip_ratio=lip_open_ratio(lmk))
    editing.check("SLIDER.source.x_s", state.x_s)
    row = list(editing.full("SLIDER.cases")).index("combo2")
    values = editing.full("SLIDER.values")[row]
    sliders = ExpressionSliders.from_official(dict(zip(editing.full("SLIDER.arg_names"), values)))
    kp = slider_keypoints(engine.networks.stitching, state.motion, sliders)
    np.testing.assert_allclose(kp.numpy(), editing.full("SLIDER.x_d_final")[row], rtol=0, atol=1e-5)
    out = next(engine.render(state, kp))
    image = to_uint8(out)[0]
    editing.check("SLIDER.render.combo2.out_uint8", image)  # within ±1 ...
    assert (image.numpy() != editing.full("SLIDER.render.combo2.out_uint8")).mean() <= 0.005  # ... on at most 0.5 %
    editing.check("SLIDER.render.combo2.out_pool8", out.double().reshape(1, 3, 64, 8, 64, 8).mean(dim=(3, 5)))
    o = out.double()
    editing.check("SLIDER.render.combo2.out_stats", torch.stack((o.mean(), o.std(unbiased=False), o.min(), o.max())))


# --------------------------------------------------------------------------------------------
# Neutral values, additivity, the slider table
# --------------------------------------------------------------------------------------------


def test_neutral_sliders_are_exact_noops(source, stitcher):
    neutral = ExpressionSliders()
    assert neutral.changed() == {}
    edited = slider_motion(source, neutral)
    for field in ("R", "exp", "scale", "t", "kp", "x_s"):
        assert torch.equal(getattr(edited, field), getattr(source, field)), field
    assert torch.equal(posed_keypoints(edited, official_tz=False), source.x_s)
    # the official quirk: t_z lands on the z coordinates, and only there
    tz_only = posed_keypoints(edited) - source.x_s
    assert torch.equal(tz_only[..., :2], torch.zeros_like(tz_only[..., :2]))
    torch.testing.assert_close(tz_only[..., 2], source.t[:, 2:].expand(1, 21), rtol=0, atol=1e-7)
    assert torch.equal(slider_keypoints(None, source, neutral, stitching=False, official_tz=False), source.x_s)
    # ratio targets equal to the rounded source ratios are the official "untouched" values: no MLP runs
    at_source = ExpressionSliders(target_eye_ratio=0.19, target_lip_ratio=0.04)
    retarget = slider_retargeting(stitcher, source, at_source)
    assert not retarget.eye_applied.any() and not retarget.lip_applied.any()
    assert torch.equal(slider_keypoints(stitcher, source, at_source), slider_keypoints(stitcher, source, neutral))


def random_state(seed: int) -> ExpressionSliders:
    """Every expression slider at a random non-neutral value inside its range."""
    rng = np.random.default_rng(seed)
    values = {}
    for name in EXPRESSION_SLIDERS:
        spec = SLIDERS[name]
        v = 0.0
        while v == spec.neutral:
            v = float(rng.uniform(spec.minimum, spec.maximum))
        values[name] = v
    return ExpressionSliders(**values)


def test_expression_offsets_are_additive_and_zero_at_neutral():
    state = random_state(0)
    total = expression_offset(state, 1)
    for name in EXPRESSION_SLIDERS:
        neutral = SLIDERS[name].neutral
        alone = expression_offset(ExpressionSliders(**{name: getattr(state, name)}), 1)
        without = expression_offset(replace(state, **{name: neutral}), 1)
        torch.testing.assert_close(without + alone, total, rtol=0, atol=1e-15)
        assert torch.count_nonzero(expression_offset(ExpressionSliders(**{name: neutral}), 1)) == 0, name


def documented_effect(name: str, v: np.ndarray) -> np.ndarray:
    """(len(v), 21, 3) offsets the table documents for values v."""
    spec = SLIDERS[name]
    pos, neg = spec.basis(False).numpy(), spec.basis(True).numpy()
    return np.where(v[:, None, None] > 0, v[:, None, None] * pos, v[:, None, None] * neg)


@pytest.mark.parametrize("name", EXPRESSION_SLIDERS)
def test_expression_slider_moves_only_its_keypoints_monotonically(source, name):
    spec = SLIDERS[name]
    v = np.unique(np.concatenate((np.linspace(spec.minimum, spec.maximum, 25), [spec.neutral])))
    edited = slider_motion(source, ExpressionSliders(**{name: v}))
    offset = (edited.exp.double() - source.exp.double()).numpy()
    expected = documented_effect(name, v)
    documented = np.zeros((21, 3), bool)
    documented[list(SLIDER_KEYPOINTS[name])] = True
    moved = np.abs(offset).max(axis=0) > 0
    assert not (moved & ~(np.abs(expected).max(axis=0) > 0)).any(), f"{name} moves undocumented entries"
    assert set(np.nonzero(moved)[0]) == set(SLIDER_KEYPOINTS[name])
    np.testing.assert_allclose(offset, expected, rtol=0, atol=1e-7)  # documented direction and size
    steps = np.diff(offset, axis=0)
    monotone = (steps >= 0).all(axis=0) | (steps <= 0).all(axis=0)
    assert monotone.all(), f"{name} is not monotonic over its range"


@pytest.mark.parametrize("name", ["pitch", "yaw", "roll"])
def test_pose_sliders_add_their_degrees_only(source, name):
    spec = SLIDERS[name]
    v = np.linspace(spec.minimum, spec.maximum, 7)
    edited = slider_motion(source, ExpressionSliders(**{name: v}))
    before = torch.stack(rotation_to_degrees(source.R.double()), 1).numpy()
    after = torch.stack(rotation_to_degrees(edited.R.double()), 1).numpy()
    change = after - before
    axis = ("pitch", "yaw", "roll").index(name)
    np.testing.assert_allclose(change[:, axis], v, rtol=0, atol=2e-4)
    np.testing.assert_allclose(np.delete(change, axis, axis=1), 0, rtol=0, atol=2e-4)
    assert torch.equal(edited.exp, source.exp.expand_as(edited.exp))


def test_mov_z_scales_and_ratio_targets_drive_the_mlps(source, stitcher):
    v = np.linspace(0.9, 1.2, 7)
    edited = slider_motion(source, ExpressionSliders(mov_z=v))
    np.testing.assert_allclose((edited.scale / source.scale).numpy()[:, 0], v, rtol=1e-6)
    targets = np.array([0.0, 0.19, 0.4, 0.8])
    retarget = slider_retargeting(stitcher, source, ExpressionSliders(target_eye_ratio=targets), len(targets))
    assert retarget.eye_applied.tolist() == [True, False, True, True]
    np.testing.assert_allclose(retarget.eye_ratio[[0, 2, 3], 2].numpy(), targets[[0, 2, 3]], rtol=1e-6)
    assert torch.count_nonzero(retarget.eye_delta[1]) == 0 and torch.count_nonzero(retarget.lip_delta) == 0


def test_per_frame_sliders_equal_single_calls(source, stitcher):
    values = {"smile": [0.0, 0.5, 1.2], "yaw": [0.0, -10.0, 20.0], "target_lip_ratio": [0.04, 0.3, 0.6]}
    batch = slider_keypoints(stitcher, source, ExpressionSliders(**values))
    for i in range(3):
        single = slider_keypoints(stitcher, source, ExpressionSliders(**{k: v[i] for k, v in values.items()}))
        torch.testing.assert_close(batch[i : i + 1], single, rtol=0, atol=1e-6)
    # one state on an N-frame motion equals the state on each frame
    motion = source.select(torch.zeros(3, dtype=torch.long))
    state = ExpressionSliders(wink=12.0, pitch=4.0)
    torch.testing.assert_close(slider_keypoints(stitcher, source, state, motion),
                               slider_keypoints(stitcher, source, state).expand(3, 21, 3), rtol=0, atol=1e-6)


def test_slider_table_covers_every_slider():
    table = slider_table()
    assert [f.name for f in fields(ExpressionSliders)] == list(SLIDERS)
    for name, spec in SLIDERS.items():
        assert f"| {name} |" in table
        assert spec.neutral is None or spec.minimum <= spec.neutral <= spec.maximum
        assert spec.target in TARGETS and (spec.target == "exp") == bool(spec.positive)
    assert len(OFFICIAL_ARGUMENTS) == 17


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"smile": 1.5}, r"smile.*\[-0.3, 1.3\]"),
        ({"yaw": float("nan")}, "yaw"),
        ({"wink": None}, "only the ratio targets"),
        ({"eee": True}, "eee"),
        ({"smile": [0.1, 0.2], "wink": [1.0, 2.0, 3.0]}, "differ in length"),
        ({"gaze_x": [[1.0]]}, "one non-empty list"),
    ],
)
def test_invalid_slider_values_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ExpressionSliders(**kwargs)


def test_invalid_uses_are_clear_errors(source, stitcher):
    with pytest.raises(ValueError, match="unknown official"):
        ExpressionSliders.from_official({"input_smile": 1.0})
    with pytest.raises(ValueError, match="source's eye ratio"):
        slider_retargeting(stitcher, replace(source, eye_ratio=None), ExpressionSliders(target_eye_ratio=0.3))
    with pytest.raises(ValueError, match="stitching_retargeting module"):
        slider_keypoints(None, source, ExpressionSliders())
    with pytest.raises(ValueError, match="do not fit"):
        slider_motion(source.select(torch.zeros(2, dtype=torch.long)), ExpressionSliders(smile=[0.1, 0.2, 0.3]))


def test_slider_states_round_trip_through_json(tmp_path):
    state = ExpressionSliders(smile=0.7, target_eye_ratio=0.3, blink=[-3.0, 0.0, 2.5])
    path = save_sliders(state, tmp_path / "happy.json", {"name": "happy", "made_for": "s6"})
    loaded, metadata = load_sliders(path)
    assert loaded == state and metadata == {"name": "happy", "made_for": "s6"}
    document = json.loads(path.read_text())
    assert document["format"] == "liveportrait-sliders" and document["sliders"]["blink"] == [-3.0, 0.0, 2.5]
    document["sliders"] = {"smile": 0.2}  # sliders left out keep their neutral value
    path.write_text(json.dumps(document))
    assert load_sliders(path)[0] == ExpressionSliders(smile=0.2)
    for broken, message in (({**document, "sliders": {"grinn": 1}}, "unknown sliders"),
                            ({**document, "format_version": 99}, "not supported"),
                            ({**document, "format": "other"}, "not a slider file"),
                            ({**document, "sliders": {"smile": 9}}, "smile")):
        path.write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=message):
            load_sliders(path)
    with pytest.raises(ValueError, match="JSON-serialisable"):
        save_sliders(state, tmp_path / "x.json", {"bad": object()})
