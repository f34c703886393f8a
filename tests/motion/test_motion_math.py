"""Motion math (pose, driving, stitching/retargeting) against the official golden data, plus unit tests."""
from __future__ import annotations

import copy
import json
import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from liveportrait_core.motion.driving import (
    ABSOLUTE_EXP_AXES,
    EYE_KEYPOINTS,
    LIP_KEYPOINTS,
    REGIONS,
    DrivingOptions,
    apply_driving_multiplier,
    driven_keypoints,
    driven_motion,
    expression_friendly,
    expression_mask,
    lip_array,
    motion_multiplier,
    source_keypoints,
)
from liveportrait_core.motion.pose import (
    RAW_KEYS,
    KeypointInfo,
    headpose_to_degrees,
    rotation_matrix,
    rotation_to_degrees,
    transform_keypoints,
)
from liveportrait_core.motion.retargeting import (
    LIP_NORMALIZE_THRESHOLD,
    animate_keypoints,
    combined_eye_ratio,
    combined_lip_ratio,
    eye_retargeting_delta,
    lip_normalization_delta,
    lip_retargeting_delta,
    retarget_keypoints,
    stitch,
    stitching_delta,
)
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.weights.checkpoints import load_network

TAGS = ("source", "driving", "driving_flip")
E2E_CASES = {  # tag -> (options, driving is a single image, frames)
    "image": (DrivingOptions(), True, 1),
    "video_expr": (DrivingOptions(), False, 2),
    "video_pose": (DrivingOptions(driving_option="pose-friendly"), False, 2),
}


def tensor(golden, name: str) -> torch.Tensor:
    return torch.from_numpy(np.asarray(golden.full(name)))


@pytest.fixture(scope="module")
def stitcher(synthetic_weights):
    return load_network("stitching_retargeting_module", synthetic_weights / "stitching_retargeting_module.pth")


@pytest.fixture(scope="module")
def source(golden) -> MotionSequence:
    """The source of the E2E cases, from ``M.source.kp_info.*`` (R from its degrees)."""
    info = {k: tensor(golden, f"M.source.kp_info.{k}") for k in ("pitch", "yaw", "roll", "exp", "kp", "scale", "t")}
    R = rotation_matrix(info["pitch"], info["yaw"], info["roll"])
    x_s = transform_keypoints(info["kp"], R, info["exp"], info["scale"], info["t"])
    return MotionSequence(R=R, exp=info["exp"], scale=info["scale"], t=info["t"], kp=info["kp"], x_s=x_s)


def template(golden, case: str) -> MotionSequence:
    """The driving motion template of an E2E case, all frames stacked."""
    n = E2E_CASES[case][2]

    def stack(key: str) -> torch.Tensor:
        return torch.cat([tensor(golden, f"E2E.{case}.template.frame{i}.{key}") for i in range(n)])

    return MotionSequence(**{k: stack(k) for k in ("R", "exp", "scale", "t", "kp", "x_s")})


def random_motion(n: int, seed: int, dtype=torch.float32) -> MotionSequence:
    """N frames of plausible random motion (angles within ±30°, small expressions)."""
    g = torch.Generator().manual_seed(seed)
    angles = (torch.rand(3, n, generator=g, dtype=dtype) - 0.5) * 60
    exp = 0.02 * torch.randn(n, 21, 3, generator=g, dtype=dtype)
    kp = 0.3 * torch.randn(n, 21, 3, generator=g, dtype=dtype)
    scale = 1.5 + 0.2 * torch.rand(n, 1, generator=g, dtype=dtype)
    t = 0.05 * torch.randn(n, 3, generator=g, dtype=dtype)
    R = rotation_matrix(*angles)
    x_s = transform_keypoints(kp, R, exp, scale, t)
    return MotionSequence(R=R, exp=exp, scale=scale, t=t, kp=kp, x_s=x_s)


# --------------------------------------------------------------------------------------------
# Golden: keypoint math (M.<tag>.*), all three tags in one batch
# --------------------------------------------------------------------------------------------


def test_kp_info_and_transform_match_golden(golden):
    raw = {k: torch.cat([tensor(golden, f"M.{tag}.raw.{k}") for tag in TAGS]) for k in RAW_KEYS}
    info = KeypointInfo.from_raw(raw)
    x = info.transformed()
    for b, tag in enumerate(TAGS):
        for key in ("pitch", "yaw", "roll", "t", "exp", "scale", "kp"):
            golden.check(f"M.{tag}.kp_info.{key}", getattr(info, key)[b : b + 1])
        golden.check(f"M.{tag}.R", info.R[b : b + 1])
        golden.check(f"M.{tag}.x_transformed", x[b : b + 1])


def test_motion_from_raw_matches_golden(golden):
    raw = {k: tensor(golden, f"M.driving.raw.{k}") for k in RAW_KEYS}
    motion = KeypointInfo.from_raw(raw).to_motion(fps=30.0)
    assert len(motion) == 1 and motion.fps == 30.0
    golden.check("M.driving.R", motion.R)
    golden.check("M.driving.kp_info.kp", motion.kp)
    golden.check("M.driving.x_transformed", motion.x_s)


def test_missing_raw_key_is_a_clear_error(golden):
    raw = {k: tensor(golden, f"M.source.raw.{k}") for k in RAW_KEYS if k != "scale"}
    with pytest.raises(ValueError, match="scale"):
        KeypointInfo.from_raw(raw)


# --------------------------------------------------------------------------------------------
# Golden: stitching / retargeting MLPs (S.*)
# --------------------------------------------------------------------------------------------


def test_stitching_matches_golden(golden, stitcher):
    x_s, x_d = tensor(golden, "M.source.x_transformed"), tensor(golden, "M.driving.x_transformed")
    with torch.no_grad():
        golden.check("S.stitch_delta", stitching_delta(stitcher, x_s, x_d))
        golden.check("S.stitching", stitch(stitcher, x_s, x_d))


def test_retargeting_matches_golden(golden, stitcher):
    x_s = tensor(golden, "M.source.x_transformed")
    eye_ratio = combined_eye_ratio(torch.tensor([[0.35, 0.33]]), torch.tensor([[0.20, 0.99]]))
    lip_ratio = combined_lip_ratio(torch.tensor([[0.05]]), torch.tensor([[0.30]]))
    golden.check("S.input.eye_ratio", eye_ratio)
    golden.check("S.input.lip_ratio", lip_ratio)
    with torch.no_grad():
        golden.check("S.retarget_eye", eye_retargeting_delta(stitcher, x_s, eye_ratio))
        golden.check("S.retarget_lip", lip_retargeting_delta(stitcher, x_s, lip_ratio))
        zero = combined_lip_ratio(torch.tensor([[0.05]]), torch.zeros(1, 1))
        golden.check("S.input.lip_ratio_zero", zero)
        golden.check("S.retarget_lip_zero", lip_retargeting_delta(stitcher, x_s, zero))
        # lip normalisation = the lip MLP with driving ratio 0 (source 0.05 >= 0.03)
        golden.check("S.retarget_lip_zero", lip_normalization_delta(stitcher, x_s, torch.tensor([[0.05]])))


def test_combined_ratios_match_official_editing_data(conformance_dir):
    data = np.load(conformance_dir / "editing" / "editing.npz")
    row = list(data["RATIO.cases"]).index("s42")
    source_eye = torch.from_numpy(data["RATIO.eye"][row : row + 1])
    source_lip = torch.from_numpy(data["RATIO.lip"][row : row + 1])
    eye = combined_eye_ratio(source_eye, torch.tensor([[0.25, 0.7]], dtype=torch.float64))
    lip = combined_lip_ratio(source_lip, torch.tensor([[0.4]], dtype=torch.float64))
    assert eye.dtype == lip.dtype == torch.float32
    np.testing.assert_allclose(eye.numpy(), data["RATIO.s42.combined_eye_ratio"], atol=2e-6, rtol=0)
    np.testing.assert_allclose(lip.numpy(), data["RATIO.s42.combined_lip_ratio"], atol=2e-6, rtol=0)


# --------------------------------------------------------------------------------------------
# Golden: end-to-end keypoints (E2E.*), every frame of a case in one call
# --------------------------------------------------------------------------------------------


def test_lip_array_matches_official(golden, conformance_dir):
    reference = json.loads((conformance_dir.parent / "reference" / "constants.json").read_text())["lip_array"]
    expected = golden.full("E2E.input.lip_array")
    assert np.array_equal(np.asarray(reference["values"]).reshape(expected.shape), expected)
    assert np.array_equal(lip_array(torch.zeros((), dtype=torch.float64)).numpy(), expected)
    assert torch.equal(lip_array(torch.zeros(())), torch.from_numpy(expected).float())


@pytest.mark.parametrize("case", sorted(E2E_CASES))
def test_end_to_end_keypoints_match_golden(golden, stitcher, source, case):
    options, is_image, n = E2E_CASES[case]
    driving = template(golden, case)
    x_s = source.x_s
    motion = driven_motion(source, driving, options, driving_is_image=is_image)
    x_raw = transform_keypoints(motion.kp, motion.R, motion.exp, motion.scale, motion.t)
    with torch.no_grad():
        x_before = driven_keypoints(source, driving, options, driving_is_image=is_image)
        x_after = stitch(stitcher, x_s, x_before)
        x_final = animate_keypoints(stitcher, source, driving, options, driving_is_image=is_image)
    assert x_final.shape == (n, 21, 3)
    if case == "video_expr":
        golden.check(f"E2E.{case}.motion_multiplier", motion_multiplier(x_s, x_raw[:1]))
    for i in range(n):
        frame = f"E2E.{case}.frame{i}"
        golden.check(f"{frame}.R_new", motion.R[i : i + 1])
        golden.check(f"{frame}.exp_new", motion.exp[i : i + 1])
        golden.check(f"{frame}.scale_new", motion.scale[i : i + 1])
        golden.check(f"{frame}.t_new", motion.t[i : i + 1])
        golden.check(f"{frame}.x_d_i_new_raw", x_raw[i : i + 1])
        if case == "video_expr":
            golden.check(f"{frame}.x_d_i_new_multiplied", x_before[i : i + 1])
        golden.check(f"{frame}.x_d_i_new_before_stitching", x_before[i : i + 1])
        golden.check(f"{frame}.x_d_i_new_after_stitching", x_after[i : i + 1])
        golden.check(f"{frame}.kp_driving_final", x_final[i : i + 1])
        golden.check(f"{frame}.kp_driving_final", apply_driving_multiplier(x_s, x_after[i : i + 1], 1.0))


def test_video_pose_skips_the_motion_multiplier(golden, source):
    """Pose-friendly keeps the raw keypoints; expression-friendly rescales them about frame 0."""
    driving = template(golden, "video_pose")
    raw = driven_keypoints(source, driving, DrivingOptions(driving_option="pose-friendly"))
    expr = driven_keypoints(source, driving, DrivingOptions())
    motion = driven_motion(source, driving, DrivingOptions())
    assert torch.equal(raw, transform_keypoints(motion.kp, motion.R, motion.exp, motion.scale, motion.t))
    assert torch.equal(expr, expression_friendly(raw, source.x_s))


# --------------------------------------------------------------------------------------------
# Unit tests: pose
# --------------------------------------------------------------------------------------------


def test_uniform_bins_give_zero_degrees_and_bad_shape_fails():
    assert torch.allclose(headpose_to_degrees(torch.zeros(4, 66)), torch.zeros(4), atol=1e-5)
    peaked = torch.full((1, 66), -1e4)
    peaked[0, 40] = 0
    assert headpose_to_degrees(peaked).item() == pytest.approx(3 * 40 - 97.5)
    with pytest.raises(ValueError, match=r"\(B, 66\)"):
        headpose_to_degrees(torch.zeros(2, 65))


def test_rotation_is_orthonormal_and_degrees_round_trip():
    g = torch.Generator().manual_seed(0)
    pitch, roll = ((torch.rand(256, generator=g, dtype=torch.float64) - 0.5) * 340 for _ in range(2))
    yaw = (torch.rand(256, generator=g, dtype=torch.float64) - 0.5) * 170
    R = rotation_matrix(pitch, yaw, roll[:, None])
    assert R.shape == (256, 3, 3) and R.dtype == torch.float64
    eye = torch.eye(3, dtype=torch.float64).expand(256, 3, 3)
    assert torch.allclose(R @ R.transpose(1, 2), eye, atol=1e-12)
    assert torch.allclose(torch.linalg.det(R), torch.ones(256, dtype=torch.float64), atol=1e-12)
    for back, angle in zip(rotation_to_degrees(R), (pitch, yaw, roll)):
        assert torch.allclose(back, angle, atol=1e-9)


def test_rotation_convention_is_transposed_zyx():
    """``kp @ R`` applies Rz·Ry·Rx to column vectors: yaw +90° takes x̂ to −ẑ, pitch +90° takes ŷ to ẑ."""
    zero, quarter = torch.zeros(1), torch.full((1,), 90.0)
    x_hat, y_hat = torch.tensor([[1.0, 0, 0]]), torch.tensor([[0.0, 1, 0]])
    assert torch.allclose(x_hat @ rotation_matrix(zero, quarter, zero)[0], torch.tensor([[0.0, 0, -1]]), atol=1e-6)
    assert torch.allclose(y_hat @ rotation_matrix(quarter, zero, zero)[0], torch.tensor([[0.0, 0, 1]]), atol=1e-6)
    assert torch.allclose(rotation_matrix(zero, zero, zero), torch.eye(3)[None])


def test_transform_ignores_tz_and_broadcasts_one_kp_over_frames():
    motion = random_motion(3, seed=1)
    t_z = motion.t.clone()
    t_z[:, 2] = 5.0
    kp = motion.kp[:1]
    x = transform_keypoints(kp, motion.R, motion.exp, motion.scale, t_z)
    for i in range(3):
        t_xy0 = torch.cat((motion.t[i, :2], torch.zeros(1)))
        expected = motion.scale[i] * (kp[0] @ motion.R[i] + motion.exp[i]) + t_xy0
        assert torch.allclose(x[i], expected, atol=1e-6)


# --------------------------------------------------------------------------------------------
# Unit tests: driving
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", [True, False])
@pytest.mark.parametrize("region", REGIONS)
def test_region_moves_only_its_part(region, relative):
    source, driving = random_motion(1, seed=2), random_motion(3, seed=3)
    motion = driven_motion(source, driving, DrivingOptions(region=region, relative=relative))
    changed = (motion.exp != source.exp).any(dim=0)  # (21, 3) entries that moved in some frame
    assert torch.equal(changed, expression_mask(region, relative))
    rows = changed.any(dim=1).nonzero().flatten().tolist()
    expected_rows = {
        "lip": list(LIP_KEYPOINTS),
        "eyes": list(EYE_KEYPOINTS),
        "pose": [],
        "exp": list(range(21)) if relative else sorted(ABSOLUTE_EXP_AXES),
    }
    expected_rows["all"] = expected_rows["exp"]
    assert rows == expected_rows[region]
    pose_on = region in ("all", "pose")
    assert torch.equal(motion.R, motion.R[:1].expand_as(motion.R)) != pose_on
    assert torch.equal(motion.t[:, :2], source.t[:, :2].expand(3, 2)) != pose_on
    assert torch.equal(motion.scale, source.scale.expand(3, 1)) != (relative and region == "all")
    assert torch.all(motion.t[:, 2] == 0)


def test_absolute_expression_mask_is_the_official_subset():
    expected = torch.zeros(21, 3, dtype=torch.bool)
    expected[[1, 2, 6, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]] = True
    expected[3:5, 1] = True
    expected[5, 2] = True
    expected[8, 2] = True
    expected[9, 1:] = True
    assert torch.equal(expression_mask("all", relative=False), expected)
    assert torch.equal(expression_mask("exp", relative=False), expected)
    assert expression_mask("all", relative=True).all()


def test_absolute_copies_driving_pose_relative_is_identity_at_anchor():
    source, driving = random_motion(1, seed=4), random_motion(3, seed=5)
    absolute = driven_motion(source, driving, DrivingOptions(relative=False))
    assert torch.equal(absolute.R, driving.R)
    assert torch.equal(absolute.t[:, :2], driving.t[:, :2])
    assert torch.equal(absolute.scale, source.scale.expand(3, 1))
    mask = expression_mask("all", relative=False)
    assert torch.equal(absolute.exp[:, mask], driving.exp[:, mask])
    assert torch.equal(absolute.exp[:, ~mask], source.exp.expand(3, 21, 3)[:, ~mask])

    relative = driven_motion(source, driving, DrivingOptions(), anchor=1)
    assert torch.allclose(relative.R[1], source.R[0], atol=1e-6)
    assert torch.equal(relative.exp[1], source.exp[0])
    assert torch.equal(relative.scale[1], source.scale[0])
    expected_t = torch.cat((source.t[0, :2], torch.zeros(1)))
    assert torch.equal(relative.t[1], expected_t)
    # the anchor frame of an expression-friendly video lands on the source keypoints
    x = driven_keypoints(source, driving, DrivingOptions(), anchor=1)
    assert torch.allclose(x[1], source.x_s[0], atol=1e-6)
    assert not torch.allclose(x[0], source.x_s[0], atol=1e-3)


def test_driving_image_uses_lip_array_and_each_frame_as_anchor():
    source, driving = random_motion(1, seed=6), random_motion(2, seed=7)
    motion = driven_motion(source, driving, DrivingOptions(), driving_is_image=True)
    assert torch.equal(motion.exp, source.exp + (driving.exp - lip_array(driving.exp)))
    assert torch.allclose(motion.R, source.R.expand(2, 3, 3), atol=1e-6)
    assert torch.allclose(motion.scale, source.scale.expand(2, 1))
    eyes = driven_motion(source, driving, DrivingOptions(region="eyes"), driving_is_image=True)
    rows = list(EYE_KEYPOINTS)
    assert torch.equal(eyes.exp[:, rows], (source.exp + driving.exp)[:, rows])  # official: no offset for "eyes"


def test_motion_multiplier_is_sqrt_volume_ratio():
    x_s = random_motion(1, seed=8).x_s
    assert motion_multiplier(x_s, 2 * x_s) == pytest.approx(1 / math.sqrt(8), rel=1e-6)
    flat = x_s.clone()
    flat[..., 2] = 0
    with pytest.raises(ValueError, match="pose-friendly"):
        motion_multiplier(flat, x_s)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"region": "mouth"}, r"region must be one of \('all', 'exp', 'pose', 'lip', 'eyes'\), got 'mouth'"),
        ({"driving_option": "expression"}, r"driving_option must be one of .*expression-friendly.*pose-friendly"),
        ({"multiplier": float("nan")}, "multiplier must be a finite number, got nan"),
        ({"multiplier": "1"}, "multiplier must be a finite number, got '1'"),
        ({"relative": "yes"}, "relative must be True or False, got 'yes'"),
        ({"normalize_lip": 1}, "normalize_lip must be True or False, got 1"),
    ],
)
def test_invalid_options_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DrivingOptions(**kwargs)


def test_defaults_are_the_official_cli_defaults():
    o = DrivingOptions()
    assert (o.relative, o.driving_option, o.multiplier, o.region) == (True, "expression-friendly", 1.0, "all")
    assert (o.stitching, o.eye_retargeting, o.lip_retargeting, o.normalize_lip) == (True, False, False, False)


def test_invalid_inputs_are_clear_errors(stitcher):
    source, driving = random_motion(1, seed=9), random_motion(2, seed=10)
    with pytest.raises(ValueError, match="anchor frame 2 is out of range for 2"):
        driven_motion(source, driving, DrivingOptions(), anchor=2)
    with pytest.raises(ValueError, match="one frame"):
        driven_motion(driving, driving, DrivingOptions())
    with pytest.raises(ValueError, match="stitching_retargeting module"):
        animate_keypoints(None, source, driving, DrivingOptions())
    with pytest.raises(ValueError, match="eye_retargeting needs source_eye_ratio"):
        animate_keypoints(stitcher, source, driving, DrivingOptions(eye_retargeting=True))
    with pytest.raises(ValueError, match="normalize_lip needs source_lip_ratio"):
        animate_keypoints(stitcher, source, driving, DrivingOptions(normalize_lip=True))
    with pytest.raises(ValueError, match="lip_retargeting needs driving_lip_ratio"):
        retarget_keypoints(
            stitcher, source.x_s, driving.x_s, DrivingOptions(lip_retargeting=True), source_lip_ratio=torch.ones(1, 1)
        )


# --------------------------------------------------------------------------------------------
# Unit tests: composition (Algorithm 1), multiplier, batching
# --------------------------------------------------------------------------------------------


def with_ratios(motion: MotionSequence, seed: int) -> MotionSequence:
    g = torch.Generator().manual_seed(seed)
    n = len(motion)
    motion.eye_ratio = 0.2 + 0.2 * torch.rand(n, 2, generator=g)
    motion.lip_ratio = 0.5 * torch.rand(n, 1, generator=g)
    return motion


def test_multiplier_zero_returns_source(stitcher):
    source, driving = random_motion(1, seed=11), random_motion(3, seed=12)
    with torch.no_grad():
        x = animate_keypoints(stitcher, source, driving, DrivingOptions(multiplier=0.0))
    assert torch.equal(x, source.x_s.expand(3, 21, 3))


def test_algorithm1_composition_order(stitcher):
    source, driving = with_ratios(random_motion(1, seed=13), 0), with_ratios(random_motion(2, seed=14), 1)
    x_s = source.x_s
    eye = eye_retargeting_delta(stitcher, x_s, combined_eye_ratio(source.eye_ratio, driving.eye_ratio))
    lip = lip_retargeting_delta(stitcher, x_s, combined_lip_ratio(source.lip_ratio, driving.lip_ratio))
    with torch.no_grad():
        for relative in (True, False):
            base = DrivingOptions(relative=relative, driving_option="pose-friendly")
            x_d = driven_keypoints(source, driving, base)
            cases = {
                (False, False, False): x_d,
                (True, False, False): stitch(stitcher, x_s, x_d),
                (False, True, False): (x_s if relative else x_d) + eye,
                (False, False, True): (x_s if relative else x_d) + lip,
                (True, True, True): stitch(stitcher, x_s, (x_s if relative else x_d) + eye + lip),
            }
            for (stitching, eye_on, lip_on), expected in cases.items():
                options = replace(base, stitching=stitching, eye_retargeting=eye_on, lip_retargeting=lip_on)
                got = animate_keypoints(stitcher, source, driving, options)
                assert torch.allclose(got, expected.expand(2, 21, 3), atol=1e-6), (relative, stitching, eye_on, lip_on)


def test_lip_normalization_only_above_threshold_and_relative(stitcher):
    source, driving = random_motion(1, seed=15), random_motion(2, seed=16)
    with torch.no_grad():
        plain = animate_keypoints(stitcher, source, driving, DrivingOptions())
        for ratio, applied in ((0.0299, False), (LIP_NORMALIZE_THRESHOLD, True), (0.2, True)):
            source.lip_ratio = torch.tensor([[ratio]])
            delta = lip_retargeting_delta(stitcher, source.x_s, torch.tensor([[ratio, 0.0]]))
            got = animate_keypoints(stitcher, source, driving, DrivingOptions(normalize_lip=True))
            assert torch.allclose(got, plain + delta if applied else plain, atol=1e-6), ratio
        # absolute motion never normalises the lips
        assert torch.equal(
            animate_keypoints(stitcher, source, driving, DrivingOptions(relative=False, normalize_lip=True)),
            animate_keypoints(stitcher, source, driving, DrivingOptions(relative=False)),
        )


@pytest.mark.parametrize("is_image", [False, True])
def test_batched_frames_equal_per_frame_calls(stitcher, is_image):
    source, driving = random_motion(1, seed=17), random_motion(4, seed=18)
    options = DrivingOptions(multiplier=1.3)
    with torch.no_grad():
        batched = animate_keypoints(stitcher, source, driving, options, driving_is_image=is_image)
        for i in range(4):
            # a video frame needs its anchor (frame 0) next to it; a driving image stands alone
            frames = [i] if is_image else [0, i]
            single = animate_keypoints(stitcher, source, driving.select(frames), options, driving_is_image=is_image)
            assert torch.allclose(batched[i], single[-1], atol=1e-6)


def test_float64_matches_float32(stitcher):
    source, driving = random_motion(1, seed=19), random_motion(3, seed=20)
    options = DrivingOptions(normalize_lip=True)
    source.lip_ratio = torch.tensor([[0.1]])
    stitcher64 = copy.deepcopy(stitcher).double()
    with torch.no_grad():
        x32 = animate_keypoints(stitcher, source, driving, options)
        x64 = animate_keypoints(stitcher64, source.to(dtype=torch.float64), driving.to(dtype=torch.float64), options)
    assert x64.dtype == torch.float64
    assert torch.allclose(x64.float(), x32, atol=1e-5)


def test_source_keypoints_are_computed_when_not_stored():
    source = random_motion(1, seed=21)
    stored = source_keypoints(source)
    source.x_s = None
    assert torch.allclose(source_keypoints(source), stored, atol=1e-7)
