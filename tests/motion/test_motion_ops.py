"""Motion as data: smoothing (SMOOTH.* golden), retiming, time edits, blending, anchors, regions, keyframes."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from liveportrait_core.editing.apply_sliders import slider_motion
from liveportrait_core.editing.keyframes import Keyframe, ease, keyframe_motion, keyframe_sliders
from liveportrait_core.editing.sliders import ExpressionSliders
from liveportrait_core.motion.anchors import most_neutral_frame, neutral_reference, with_anchor
from liveportrait_core.motion.driving import EYE_KEYPOINTS, LIP_KEYPOINTS, DrivingOptions, driven_motion, lip_array
from liveportrait_core.motion.ops import (
    blend,
    concatenate,
    cross_fade,
    interpolate_frames,
    loop,
    ping_pong,
    retime,
    reverse,
    trim,
)
from liveportrait_core.motion.pose import rotation_matrix
from liveportrait_core.motion.regions import REGION_KEYPOINTS, neutralize, scale_regions, transfer_expression
from liveportrait_core.motion.rotations import interpolate_rotations, rotation_angle
from liveportrait_core.motion.smoothing import estimate_lag, jitter, kalman_smooth, one_euro, smooth_motion
from liveportrait_core.motion.templates import load_template, save_template
from tests.support.faces import editing  # noqa: F401  (fixture: the editing golden data, its comparison rules)
from tests.motion.test_motion_math import random_motion

TEMPLATES = ("d5.pkl", "d7.pkl", "laugh.pkl", "open_lip.pkl", "shake_face.pkl")  # the official ones with > 40 frames
FIELDS = ("R", "exp", "scale", "t")


@pytest.fixture(scope="module")
def templates(assets_dir):
    return {name: load_template(assets_dir / "driving" / name) for name in TEMPLATES}


def with_ratios(motion, seed: int):
    g = torch.Generator().manual_seed(seed)
    n = len(motion)
    return replace(motion, eye_ratio=0.4 * torch.rand(n, 2, generator=g), lip_ratio=0.5 * torch.rand(n, 1, generator=g))


def assert_same_fields(a, b, names=("R", "exp", "scale", "t", "kp", "eye_ratio", "lip_ratio")):
    for name in names:
        assert torch.equal(getattr(a, name), getattr(b, name)), name


# --------------------------------------------------------------------------------------------
# Smoothing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variance", ["3e-7", "3e-6"])
def test_kalman_matches_official_smoothing(editing, templates, variance):
    d5 = templates["d5.pkl"]
    for field in ("exp", "R"):
        assert torch.equal(getattr(d5, field), torch.from_numpy(editing.full(f"SMOOTH.d5.{field}_in")))
        editing.check(f"SMOOTH.d5.{field}.ov{variance}", kalman_smooth(getattr(d5, field), float(variance)))
    smoothed = smooth_motion(d5, "kalman", observation_variance=float(variance), project_rotations=False)
    editing.check(f"SMOOTH.d5.R.ov{variance}", smoothed.R)
    editing.check(f"SMOOTH.d5.exp.ov{variance}", smoothed.exp)


def test_projected_rotations_are_orthonormal(templates):
    raw = smooth_motion(templates["d5.pkl"], "kalman", project_rotations=False).R
    projected = smooth_motion(templates["d5.pkl"], "kalman").R
    eye = torch.eye(3).expand_as(projected)
    assert (raw @ raw.transpose(1, 2) - eye).abs().max() > 1e-5  # entry-wise smoothing leaves them off SO(3)
    torch.testing.assert_close(projected @ projected.transpose(1, 2), eye, rtol=0, atol=1e-6)
    torch.testing.assert_close(projected, raw, rtol=0, atol=2e-4)


@pytest.mark.parametrize("method, min_factor, max_lag", [("kalman", 1.3, 0.25), ("one_euro", 1.2, 1.6)])
def test_smoothing_lowers_jitter_with_bounded_lag(templates, method, min_factor, max_lag):
    """Default settings (Kalman: the app's 3e-6; One-Euro: strength 0.5, beta 0.5) on every official template."""
    for name, motion in templates.items():
        smoothed = smooth_motion(motion, method)
        for field in FIELDS:
            before, after = getattr(motion, field), getattr(smoothed, field)
            assert jitter(before) / jitter(after) >= min_factor, (name, field)
            lag = estimate_lag(before, after)
            assert abs(lag) <= max_lag, (name, field, lag)
            if method == "one_euro":
                assert lag > 0.5, (name, field, lag)  # causal: it really lags


def test_one_euro_strength_trades_jitter_for_lag(templates):
    d5 = templates["d5.pkl"]
    assert smooth_motion(d5, "one_euro", strength=0.0) is d5
    jitters, lags = [], []
    for strength in (0.25, 0.5, 1.0):
        exp = smooth_motion(d5, "one_euro", strength=strength, beta=0.0).exp
        jitters.append(jitter(exp))
        lags.append(estimate_lag(d5.exp, exp))
    assert jitters == sorted(jitters, reverse=True) and lags == sorted(lags)
    # beta > 0 lets fast motion through: less lag than the same strength without it
    assert estimate_lag(d5.exp, smooth_motion(d5, "one_euro", strength=1.0, beta=2.0).exp) < lags[-1]


def test_lag_and_jitter_measures():
    t = torch.arange(100, dtype=torch.float64)
    wave = torch.sin(t / 6)[:, None]
    assert estimate_lag(wave, torch.sin((t - 2.5) / 6)[:, None]) == pytest.approx(2.5, abs=0.05)
    assert jitter(0.1 * t[:, None]) == pytest.approx(0.0, abs=1e-12)
    constant = torch.ones(50, 3)
    torch.testing.assert_close(one_euro(constant, 25.0), constant)
    torch.testing.assert_close(kalman_smooth(constant), constant)


def test_smoothing_errors_are_clear(templates):
    d5 = templates["d5.pkl"]
    with pytest.raises(ValueError, match="smoothing method"):
        smooth_motion(d5, "gauss")
    with pytest.raises(ValueError, match="cannot smooth"):
        smooth_motion(d5, fields=("x_s",))
    with pytest.raises(ValueError, match="strength"):
        smooth_motion(d5, "one_euro", strength=2)
    with pytest.raises(ValueError, match="observation_variance"):
        kalman_smooth(d5.exp, 0.0)


# --------------------------------------------------------------------------------------------
# Retiming and rotation interpolation
# --------------------------------------------------------------------------------------------


def test_retime_25_30_25_returns_the_original(templates):
    laugh = templates["laugh.pkl"]
    assert laugh.fps == 25.0
    up = retime(laugh, 30)
    assert (len(up), up.fps) == (65, 30.0)
    torch.testing.assert_close(up.R @ up.R.transpose(1, 2), torch.eye(3).expand(65, 3, 3), rtol=0, atol=1e-6)
    back = retime(up, 25)
    assert (len(back), back.fps) == (len(laugh), 25.0)
    error = (back.exp - laugh.exp).abs()
    assert error.max() < 3e-3 and error.pow(2).mean().sqrt() < 1e-4  # measured 2.1e-3 and 7.3e-5
    assert rotation_angle(back.R @ laugh.R.transpose(1, 2)).max() < 0.1  # degrees; measured 0.050
    assert (back.t - laugh.t).abs().max() < 1e-3 and (back.scale - laugh.scale).abs().max() < 1e-3
    exact = torch.arange(0, len(laugh), 5)  # 25-fps frames that sit on 30-fps frames come back bit for bit
    assert_same_fields(back.select(exact), laugh.select(exact), ("R", "exp", "scale", "t"))


def test_retime_to_half_rate_picks_every_other_frame(templates):
    d5 = templates["d5.pkl"]
    half = retime(d5, 15)
    assert len(half) == 74
    assert_same_fields(half, d5.select(slice(0, None, 2)), ("R", "exp", "scale", "t", "eye_ratio", "lip_ratio"))


def test_rotations_are_interpolated_on_the_geodesic():
    zero, sixty = torch.zeros(1), torch.full((1,), 60.0)
    R0, R1 = rotation_matrix(zero, zero, zero), rotation_matrix(zero, sixty, zero)
    motion = replace(random_motion(2, 3), R=torch.cat((R0, R1)))
    middle = interpolate_frames(motion, torch.tensor([0.5]))
    torch.testing.assert_close(middle.R, rotation_matrix(zero, torch.full((1,), 30.0), zero), rtol=0, atol=1e-6)
    naive = (R0 + R1) / 2  # entry-wise: not a rotation (shrinks)
    assert torch.linalg.det(naive).item() < 0.9
    assert torch.equal(interpolate_rotations(R0, R1, 0.0), R0) and torch.equal(interpolate_rotations(R0, R1, 1.0), R1)
    assert rotation_angle(interpolate_rotations(R0, R1, 1.5)).item() == pytest.approx(90.0, abs=1e-4)


def test_retime_errors_are_clear(templates):
    with pytest.raises(ValueError, match="positive"):
        retime(templates["d5.pkl"], 0)
    with pytest.raises(ValueError, match="within"):
        interpolate_frames(templates["d5.pkl"], torch.tensor([148.5]))


# --------------------------------------------------------------------------------------------
# Time edits, blending, cross-fades
# --------------------------------------------------------------------------------------------


def test_trim_loop_ping_pong_reverse():
    m = random_motion(5, 4)
    assert_same_fields(trim(m, 1, -1), m.select(slice(1, 4)), ("R", "exp"))
    assert len(trim(m, -2)) == 2
    assert_same_fields(reverse(reverse(m)), m, ("R", "exp", "kp"))
    assert torch.equal(reverse(m).exp[0], m.exp[-1])
    assert torch.equal(loop(m, 3).exp, m.exp.repeat(3, 1, 1))
    order = [0, 1, 2, 3, 4, 3, 2, 1] * 2
    assert torch.equal(ping_pong(m, 2).exp, m.exp[order])
    assert len(ping_pong(m.select(slice(0, 1)))) == 1
    for call, message in ((lambda: trim(m, 3, 3), "no frame"), (lambda: trim(m, 9), "out of range"),
                          (lambda: loop(m, 0), "loop count"), (lambda: ping_pong(m, 1.5), "ping-pong")):
        with pytest.raises(ValueError, match=message):
            call()


def test_blend_at_0_and_1_returns_the_inputs():
    a, b = with_ratios(random_motion(4, 5), 1), with_ratios(random_motion(4, 6), 2)
    assert_same_fields(blend(a, b, 0.0), a)
    assert_same_fields(blend(a, b, 1.0), b)
    mixed = blend(a, b, torch.tensor([0.0, 0.25, 0.75, 1.0], dtype=torch.float64))
    assert_same_fields(mixed.select(slice(0, 1)), a.select(slice(0, 1)))
    assert_same_fields(mixed.select(slice(3, 4)), b.select(slice(3, 4)))
    torch.testing.assert_close(mixed.exp[1], 0.75 * a.exp[1] + 0.25 * b.exp[1])
    torch.testing.assert_close(mixed.R @ mixed.R.transpose(1, 2), torch.eye(3).expand(4, 3, 3), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="one per frame"):
        blend(a, b, torch.ones(3))


def test_cross_fade_keeps_the_inputs_outside_the_overlap():
    a, b = random_motion(6, 7), random_motion(5, 8)
    faded = cross_fade(a, b, 3)
    assert len(faded) == 8
    assert_same_fields(faded.select(slice(0, 3)), a.select(slice(0, 3)), ("R", "exp", "t", "scale"))
    assert_same_fields(faded.select(slice(6, 8)), b.select(slice(3, 5)), ("R", "exp", "t", "scale"))
    torch.testing.assert_close(faded.exp[4], 0.5 * a.exp[4] + 0.5 * b.exp[1])
    assert len(cross_fade(a, b, 0)) == 11 and len(concatenate(a, b)) == 11
    with pytest.raises(ValueError, match="cross-fade"):
        cross_fade(a, b, 6)


# --------------------------------------------------------------------------------------------
# Anchors
# --------------------------------------------------------------------------------------------


def test_anchor_choice_changes_results_as_the_math_says():
    source, driving = random_motion(1, 9), random_motion(6, 10)
    options = DrivingOptions(driving_option="pose-friendly")
    first, third = driven_motion(source, driving, options), driven_motion(source, driving, options, anchor=3)
    # δ_i = δ_s + δ_d,i − δ_a: moving the anchor from frame 0 to 3 shifts every frame by δ_d,0 − δ_d,3
    torch.testing.assert_close(third.exp - first.exp, (driving.exp[0] - driving.exp[3]).expand(6, 21, 3))
    torch.testing.assert_close(third.exp[3], source.exp[0])  # the anchor frame gives back the source
    torch.testing.assert_close(third.R[3], source.R[0], rtol=0, atol=1e-6)
    torch.testing.assert_close(third.scale[3], source.scale[0])
    # an anchor put in front and driven with anchor=0 gives the same frames
    via_front = driven_motion(source, with_anchor(driving, 3), options).select(slice(1, None))
    assert_same_fields(via_front, third, ("R", "exp", "scale", "t"))
    # an external neutral reference: frontal, official neutral expression, mean scale and translation
    reference = neutral_reference(driving)
    assert torch.equal(reference.R[0], torch.eye(3)) and torch.equal(reference.exp, lip_array(driving.exp))
    neutral = driven_motion(source, with_anchor(driving, reference), options).select(slice(1, None))
    torch.testing.assert_close(neutral.exp, source.exp + driving.exp - lip_array(driving.exp))
    torch.testing.assert_close(neutral.R, driving.R @ source.R)
    torch.testing.assert_close(neutral.scale, source.scale * driving.scale / driving.scale.mean())


def test_most_neutral_frame():
    driving = random_motion(6, 11)
    calm = replace(driving, exp=torch.cat((driving.exp[:4], lip_array(driving.exp) + 1e-4, driving.exp[5:])))
    assert most_neutral_frame(calm) == 4
    eyes_only = calm.exp.clone()
    eyes_only[2, list(EYE_KEYPOINTS)] = lip_array(calm.exp)[0, list(EYE_KEYPOINTS)]
    assert most_neutral_frame(replace(calm, exp=eyes_only), "eyes") == 2


# --------------------------------------------------------------------------------------------
# Regions: transfer from a reference, scaling, neutralising
# --------------------------------------------------------------------------------------------


def test_transfer_expression_by_region():
    target, reference = random_motion(3, 12), random_motion(1, 13)
    lip = transfer_expression(target, reference, "lip")
    inside, outside = list(LIP_KEYPOINTS), [k for k in range(21) if k not in LIP_KEYPOINTS]
    assert torch.equal(lip.exp[:, inside], reference.exp[:, inside].expand(3, -1, -1))
    assert torch.equal(lip.exp[:, outside], target.exp[:, outside]) and torch.equal(lip.R, target.R)
    assert_same_fields(transfer_expression(target, reference, "all", 0.0), target, ("R", "exp", "scale", "t"))
    everything = transfer_expression(target, reference, "all")
    assert torch.equal(everything.R, reference.R.expand(3, 3, 3)) and torch.equal(everything.exp, reference.exp.expand(3, 21, 3))
    half = transfer_expression(target, reference, "rotation", 0.5)
    assert torch.equal(half.exp, target.exp)
    full_angle = rotation_angle(reference.R @ target.R.transpose(1, 2))
    torch.testing.assert_close(rotation_angle(half.R @ target.R.transpose(1, 2)), full_angle / 2, rtol=0, atol=1e-3)
    with pytest.raises(ValueError, match="transfer region"):
        transfer_expression(target, reference, "mouth")


def test_scale_regions():
    motion = random_motion(4, 14)
    assert_same_fields(scale_regions(motion), motion, ("R", "exp", "scale", "t", "kp"))
    reference = motion.select(slice(0, 1))
    scaled = scale_regions(motion, 0, eyes=0.0, lip=2.0, pose=2.0)
    eyes, lip, rest = (list(REGION_KEYPOINTS[r]) for r in ("eyes", "lip", "rest"))
    assert torch.equal(scaled.exp[:, eyes], reference.exp[:, eyes].expand(4, -1, -1))
    torch.testing.assert_close(scaled.exp[:, lip], reference.exp[:, lip] + 2 * (motion.exp[:, lip] - reference.exp[:, lip]))
    assert torch.equal(scaled.exp[:, rest], motion.exp[:, rest])
    torch.testing.assert_close(rotation_angle(scaled.R @ reference.R.transpose(1, 2)),
                               2 * rotation_angle(motion.R @ reference.R.transpose(1, 2)), rtol=0, atol=1e-3)
    torch.testing.assert_close(scaled.t, reference.t + 2 * (motion.t - reference.t))
    with pytest.raises(ValueError, match="finite"):
        scale_regions(motion, eyes=math.inf)


def test_neutralize():
    motion = random_motion(2, 15)
    eyes = neutralize(motion, "eyes")
    assert torch.count_nonzero(eyes.exp[:, list(EYE_KEYPOINTS)]) == 0
    others = [k for k in range(21) if k not in EYE_KEYPOINTS]
    assert torch.equal(eyes.exp[:, others], motion.exp[:, others])
    assert torch.count_nonzero(neutralize(motion).exp) == 0
    with pytest.raises(ValueError, match="expression region"):
        neutralize(motion, "nose")


# --------------------------------------------------------------------------------------------
# Keyframes, and saving the result with template.py
# --------------------------------------------------------------------------------------------


def test_easings_are_exact_at_the_ends():
    w = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    assert ease(w, "linear").tolist() == w.tolist()
    assert ease(w, "ease_in_out").tolist() == [0.0, 0.15625, 0.5, 1.0]
    assert ease(w, "hold").tolist() == [0.0] * 4


def test_keyframe_motion_hits_its_keyframes(tmp_path):
    k0, k1, k2 = (random_motion(1, s) for s in (16, 17, 18))
    keys = [Keyframe(0, k0), Keyframe(10, k1, "hold"), Keyframe(20, k2, "ease_in_out")]
    motion = keyframe_motion(keys, n_frames=25, fps=30)
    assert (len(motion), motion.fps) == (25, 30.0)
    for frame, key in ((0, k0), (10, k1), (20, k2)):
        assert_same_fields(motion.select(slice(frame, frame + 1)), key, ("R", "exp", "scale", "t", "kp"))
    assert torch.equal(motion.exp[11:20], k1.exp.expand(9, 21, 3))  # hold
    assert torch.equal(motion.exp[21:], k2.exp.expand(4, 21, 3))  # after the last keyframe
    torch.testing.assert_close(motion.exp[5], 0.5 * k0.exp[0] + 0.5 * k1.exp[0])
    path = save_template(motion, tmp_path / "timeline.safetensors", {"keyframes": [0, 10, 20]})
    assert_same_fields(load_template(path), motion, ("R", "exp", "scale", "t", "kp"))


def test_keyframe_sliders_drive_a_still_source():
    source = random_motion(1, 19)
    smile, wink = ExpressionSliders(smile=1.0, yaw=10.0), ExpressionSliders(wink=20.0, target_eye_ratio=None)
    sliders = keyframe_sliders([Keyframe(2, ExpressionSliders()), Keyframe(6, smile, "ease_in_out"), Keyframe(9, wink)])
    assert sliders.frames() == 10 and sliders.target_eye_ratio is None
    assert sliders.smile[:3] == (0.0,) * 3 and sliders.smile[6] == 1.0 and sliders.smile[9] == 0.0
    assert sliders.wink[9] == 20.0 and 0 < sliders.wink[7] < sliders.wink[8] < 20.0
    motion = slider_motion(source, sliders)
    assert len(motion) == 10
    assert_same_fields(motion.select(slice(6, 7)), slider_motion(source, smile), ("R", "exp", "scale"))
    with pytest.raises(ValueError, match="some keyframes only"):
        keyframe_sliders([Keyframe(0, ExpressionSliders(target_lip_ratio=0.3)), Keyframe(4, ExpressionSliders())])
    with pytest.raises(ValueError, match="increasing"):
        keyframe_sliders([Keyframe(4, smile), Keyframe(2, wink)])
    with pytest.raises(ValueError, match="easing"):
        keyframe_sliders([Keyframe(0, smile, "bounce")])
