"""Motion templates: the official .pkl files, our .safetensors format, and the restricted unpickler."""
from __future__ import annotations

import os
import pickle
import pickletools
from pathlib import Path

import numpy as np
import pytest
import torch

from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.motion.templates import (
    TemplateError,
    UnsafePickleError,
    load_template,
    official_layout,
    read_template_metadata,
    restricted_load,
    restricted_loads,
    save_template,
)

# name -> (frames, fps, has eye/lip ratio lists), as documented in shared/assets/README.md
OFFICIAL = {
    "d1": (16, 30, True),
    "d2": (16, 30, True),
    "d5": (148, 30, True),
    "d7": (178, 30, True),
    "laugh": (54, 25, False),
    "open_lip": (77, 25, False),
    "shake_face": (93, 20, False),
}


def _assert_same(a: MotionSequence, b: MotionSequence) -> None:
    assert a.fps == b.fps
    assert a.tensors().keys() == b.tensors().keys()
    for key, value in a.tensors().items():
        assert torch.equal(value, b.tensors()[key]), key


def _globals(data: bytes) -> set[str]:
    """``module.name`` of every global a pickle references, following memoised strings for STACK_GLOBAL."""
    memo: list = []
    recent: list = []  # values pushed lately (strings, or None for anything else)
    found = set()
    for op, arg, _ in pickletools.genops(data):
        if op.name == "MEMOIZE":
            memo.append(recent[-1] if recent else None)
        elif op.name in ("BINGET", "LONG_BINGET"):
            recent.append(memo[arg])
        elif op.name == "STACK_GLOBAL":
            found.add(".".join(recent[-2:]))
            recent.append(None)
        elif op.name == "GLOBAL":
            found.add(arg.replace(" ", "."))
        else:
            recent.append(arg if isinstance(arg, str) else None)
    return found


def _random_motion(n: int = 5, fps: float = 29.97, full: bool = True) -> MotionSequence:
    g = torch.Generator().manual_seed(0)
    rand = lambda *shape: torch.randn(*shape, generator=g)  # noqa: E731
    R = torch.linalg.qr(rand(n, 3, 3))[0]
    extra = dict(kp=rand(n, 21, 3), x_s=rand(n, 21, 3), eye_ratio=rand(n, 2), lip_ratio=rand(n, 1)) if full else {}
    return MotionSequence(R=R, exp=rand(n, 21, 3), scale=rand(n, 1), t=rand(n, 3), fps=fps, **extra)


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_official_templates_load(assets_dir: Path, name: str) -> None:
    frames, fps, has_ratios = OFFICIAL[name]
    motion = load_template(assets_dir / "driving" / f"{name}.pkl")
    assert len(motion) == frames and motion.fps == fps
    assert motion.R.dtype == torch.float32
    assert (motion.exp.shape, motion.scale.shape, motion.t.shape) == ((frames, 21, 3), (frames, 1), (frames, 3))
    eye = torch.eye(3).expand(frames, 3, 3)
    assert torch.allclose(motion.R @ motion.R.transpose(1, 2), eye, atol=1e-4)
    assert torch.allclose(torch.linalg.det(motion.R), torch.ones(frames), atol=1e-4)
    assert (motion.eye_ratio is not None, motion.lip_ratio is not None) == (has_ratios, has_ratios)
    if has_ratios:
        assert motion.eye_ratio.shape == (frames, 2) and motion.lip_ratio.shape == (frames, 1)
    assert motion.kp is None and motion.x_s is None  # the shipped files predate kp / x_s


@pytest.mark.parametrize("name", ["d1", "laugh"])
def test_round_trip_official_ours_official(assets_dir: Path, tmp_path: Path, name: str) -> None:
    original = load_template(assets_dir / "driving" / f"{name}.pkl")
    ours = save_template(original, tmp_path / "m.safetensors", {"note": "round trip"}, source="s0.jpg", driving=f"{name}.pkl")
    _assert_same(load_template(ours), original)
    meta = read_template_metadata(ours)
    assert meta["n_frames"] == len(original) and meta["fps"] == original.fps
    assert (meta["source"], meta["driving"], meta["user"]) == ("s0.jpg", f"{name}.pkl", {"note": "round trip"})
    back = save_template(load_template(ours), tmp_path / "back.pkl")
    _assert_same(load_template(back), original)


def test_written_pkl_has_the_official_layout(tmp_path: Path) -> None:
    motion = _random_motion(n=3, fps=30.0)
    path = save_template(motion, tmp_path / "t.pkl")
    data = path.read_bytes()
    raw = restricted_loads(data)
    assert raw["n_frames"] == 3 and raw["output_fps"] == 30 and isinstance(raw["output_fps"], int)
    assert set(raw["motion"][0]) == {"scale", "R", "exp", "t", "kp", "x_s"}
    assert raw["motion"][0]["exp"].shape == (1, 21, 3) and raw["motion"][0]["exp"].dtype == np.float32
    assert raw["c_eyes_lst"][2].shape == (1, 2) and raw["c_lip_lst"][2].shape == (1, 1)
    # only the globals numpy 1.26 (the official pin) can resolve: no protocol-5 numpy._core.numeric._frombuffer
    assert {g.replace("numpy._core.", "numpy.core.") for g in _globals(data)} <= {
        "numpy.core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype"
    }


@pytest.mark.parametrize("protocol", [2, 3, 5])
def test_other_pickle_protocols_load(tmp_path: Path, protocol: int) -> None:
    """Protocol 2 pickles bytes through _codecs.encode, protocol 5 arrays through numpy's _frombuffer."""
    motion = _random_motion(n=3)
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps(official_layout(motion), protocol=protocol))
    _assert_same(load_template(path), motion)


def test_ours_round_trip_keeps_everything(tmp_path: Path) -> None:
    motion = _random_motion(fps=29.97)
    _assert_same(load_template(save_template(motion, tmp_path / "m.safetensors")), motion)
    _assert_same(load_template(save_template(motion, tmp_path / "m.pkl")), motion)
    partial = _random_motion(full=False, fps=12.5)
    _assert_same(load_template(save_template(partial, tmp_path / "p.safetensors")), partial)
    assert "c_eyes_lst" not in restricted_loads(save_template(partial, tmp_path / "p.pkl").read_bytes())


class _CreatesFile:
    """Unpickling this (with a plain pickle.load) would run ``open(target, 'w')``."""

    def __init__(self, call, target: Path):
        self.call, self.target = call, target

    def __reduce__(self):
        if self.call == "system":
            return (os.system, (f"touch {self.target}",))
        return (eval, (f"open({str(self.target)!r}, 'w').close()",))


@pytest.mark.parametrize("call, refused", [("system", ("os.system", "posix.system")), ("eval", ("builtins.eval",))])
def test_malicious_pickle_is_refused_without_running(tmp_path: Path, call: str, refused: tuple[str, ...]) -> None:
    target = tmp_path / "pwned"
    payload = {"n_frames": 1, "output_fps": 25, "motion": [_CreatesFile(call, target)]}
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(payload))
    with pytest.raises(UnsafePickleError) as info:
        load_template(path)
    assert any(name in str(info.value) for name in refused) and str(path) in str(info.value)
    with pytest.raises(UnsafePickleError), path.open("rb") as f:
        restricted_load(f)
    assert not target.exists()


def test_non_template_pickles_give_clear_errors(tmp_path: Path) -> None:
    cases = {
        "list.pkl": ([1, 2, 3], "not a LivePortrait motion template"),
        "count.pkl": ({"n_frames": 2, "motion": [{}]}, "'n_frames' is 2 but 'motion' holds 1"),
        "norot.pkl": ({"motion": [{"exp": np.zeros((1, 21, 3))}]}, "frame 0: no rotation"),
        "shape.pkl": (
            {"motion": [{"R": np.eye(3)[None], "exp": np.zeros((1, 20, 3)), "scale": np.ones((1, 1)), "t": np.zeros((1, 3))}]},
            "frame 0: key 'exp' has shape (1, 20, 3)",
        ),
        "ratios.pkl": (
            {"motion": [{"R": np.eye(3), "exp": np.zeros((21, 3)), "scale": 1.0, "t": np.zeros(3)}], "c_d_lip_lst": []},
            "key 'c_d_lip_lst' must be a list of 1 frames",
        ),
    }
    for name, (payload, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(pickle.dumps(payload))
        with pytest.raises(TemplateError) as info:
            load_template(path)
        assert message in str(info.value) and str(path) in str(info.value), str(info.value)
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(TemplateError, match="not a readable pickle"):
        load_template(tmp_path / "junk.pkl")


def test_ours_rejects_foreign_and_malformed_files(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(1)}, str(tmp_path / "weights.safetensors"))
    with pytest.raises(TemplateError, match="metadata 'format'"):
        load_template(tmp_path / "weights.safetensors")
    motion = _random_motion(n=4)
    with pytest.raises(TemplateError, match="tensor 'exp' has shape"):
        save_template(MotionSequence(R=motion.R, exp=motion.exp[:3], scale=motion.scale, t=motion.t), tmp_path / "bad.safetensors")
    with pytest.raises(TemplateError, match="unknown template extension"):
        save_template(motion, tmp_path / "m.json")
