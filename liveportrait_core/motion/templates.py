"""Motion templates: the official ``.pkl`` layout and the project's ``.safetensors`` format.

Official templates are Python pickles, so they are read only through :func:`restricted_load`,
which resolves a fixed allow-list of numpy globals and refuses every other global before it
is imported or called. This is the project's only pickle loading.

Our own format is a ``.safetensors`` file holding the batched :class:`MotionSequence`
tensors plus string metadata (format name and version, fps, frame count, source / driving
info and a free-form JSON user dict). :func:`save_template` writes either format, chosen by
the file extension, so templates made here also run in the official tools.
"""
from __future__ import annotations

import codecs
import importlib
import io
import json
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .sequence import MotionSequence

FORMAT_NAME = "liveportrait-motion"
FORMAT_VERSION = 1
TEMPLATE_EXTENSIONS = (".pkl", ".safetensors")

# Per-frame arrays of the official layout and the shape of one frame in MotionSequence.
_FRAME_KEYS = {"scale": (1,), "exp": (21, 3), "t": (3,)}
_OPTIONAL_FRAME_KEYS = {"kp": (21, 3), "x_s": (21, 3)}
_ROTATION_KEYS = ("R", "R_d")  # current official name first, then the older one
# MotionSequence ratio field -> (shape of one frame, official list names, current first).
_RATIO_LISTS = {
    "eye_ratio": ((2,), ("c_eyes_lst", "c_d_eyes_lst")),
    "lip_ratio": ((1,), ("c_lip_lst", "c_d_lip_lst")),
}


class TemplateError(ValueError):
    """A motion template that cannot be read or written; the message names file, frame and key."""


class UnsafePickleError(TemplateError, pickle.UnpicklingError):
    """A pickle that asks for a global outside the allow-list (it was never imported or called)."""


def _first_found(name: str, *modules: str) -> Any:
    """``name`` from the first of ``modules`` that has it (numpy 2 moved ``numpy.core`` to ``numpy._core``)."""
    for module in modules:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy provides none of {[m + '.' + name for m in modules]}")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """Every global numpy array / dtype / scalar pickling needs, under numpy 1.x and 2.x module paths.

    Both spellings map to the objects of the installed numpy, so loading never imports the
    deprecated ``numpy.core`` shim. ``_codecs.encode`` turns text back into bytes in protocol-2 pickles.
    """
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,
    }
    for module, names in (("multiarray", ("_reconstruct", "scalar")), ("numeric", ("_frombuffer",))):
        for name in names:
            obj = _first_found(name, f"numpy._core.{module}", f"numpy.core.{module}")
            table[(f"numpy._core.{module}", name)] = obj
            table[(f"numpy.core.{module}", name)] = obj
    return table


_ALLOWED_GLOBALS = _allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only :data:`_ALLOWED_GLOBALS` from its own table, never by import."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused pickle global {module}.{name}: only plain containers and numpy arrays are allowed"
            ) from None


def restricted_load(file: BinaryIO) -> Any:
    """Unpickle data that may only hold dict/list/tuple/str/bytes/numbers/bool/None and numpy arrays."""
    return _RestrictedUnpickler(file).load()


def restricted_loads(data: bytes) -> Any:
    """:func:`restricted_load` for bytes in memory."""
    return restricted_load(io.BytesIO(data))


# ---------------------------------------------------------------------------------------------
# Loading


def load_template(path: str | Path) -> MotionSequence:
    """Read an official ``.pkl`` template or one of ours (``.safetensors``) as a float32 MotionSequence."""
    path = Path(path)
    return _load_pkl(path) if _extension(path) == ".pkl" else _load_safetensors(path)


def _extension(path: Path) -> str:
    """The lower-case template extension of ``path``; anything else is an error."""
    suffix = path.suffix.lower()
    if suffix not in TEMPLATE_EXTENSIONS:
        raise TemplateError(f"{path}: unknown template extension {path.suffix!r}, expected one of {TEMPLATE_EXTENSIONS}")
    return suffix


def read_template_metadata(path: str | Path) -> dict[str, Any]:
    """Metadata of one of our ``.safetensors`` templates, values decoded (fps float, n_frames int, user dict)."""
    path = Path(path)
    raw = _read_safetensors_metadata(path)
    try:
        user = json.loads(raw.get("user", "{}"))
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}: metadata 'user' is not valid JSON ({exc})") from exc
    return {
        "format": raw["format"],
        "format_version": int(raw["format_version"]),
        "fps": float(raw["fps"]),
        "n_frames": int(raw["n_frames"]),
        "source": raw.get("source", ""),
        "driving": raw.get("driving", ""),
        "user": user,
    }


def _load_pkl(path: Path) -> MotionSequence:
    """Official template: a dict of ``n_frames``, ``output_fps``, ``motion`` (per-frame dicts) and ratio lists."""
    try:
        with path.open("rb") as f:
            data = restricted_load(f)
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{path}: {exc}") from None
    except Exception as exc:  # a corrupt stream can fail in many ways; none of them ran foreign code
        raise TemplateError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("motion"), list):
        raise TemplateError(
            f"{path}: not a LivePortrait motion template: expected a dict with a 'motion' list, got {type(data).__name__}"
        )
    frames = data["motion"]
    n = len(frames)
    if n == 0:
        raise TemplateError(f"{path}: 'motion' holds no frames")
    if data.get("n_frames", n) != n:
        raise TemplateError(f"{path}: 'n_frames' is {data['n_frames']} but 'motion' holds {n} frames")
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            raise TemplateError(f"{path}: frame {i}: expected a dict, got {type(frame).__name__}")
    rotation_key = _rotation_key(path, frames)
    fields = {name: _stack_frames(path, frames, key, shape) for name, key, shape in _motion_keys(rotation_key)}
    for key, shape in _OPTIONAL_FRAME_KEYS.items():
        if _optional_everywhere(path, frames, key):
            fields[key] = _stack_frames(path, frames, key, shape)
    for name, (shape, keys) in _RATIO_LISTS.items():
        fields[name] = _ratio_list(path, data, keys, shape, n)
    return MotionSequence(**fields, fps=_fps(path, data.get("output_fps", 25)))


def _motion_keys(rotation_key: str) -> list[tuple[str, str, tuple[int, ...]]]:
    """(MotionSequence field, official key, per-frame shape) of the mandatory per-frame arrays."""
    return [("R", rotation_key, (3, 3))] + [(key, key, shape) for key, shape in _FRAME_KEYS.items()]


def _rotation_key(path: Path, frames: list[dict]) -> str:
    """``R`` (current official code) or ``R_d`` (older templates), decided on frame 0."""
    for key in _ROTATION_KEYS:
        if key in frames[0]:
            return key
    raise TemplateError(f"{path}: frame 0: no rotation, expected key 'R' or 'R_d' (has {sorted(frames[0])})")


def _optional_everywhere(path: Path, frames: list[dict], key: str) -> bool:
    """Whether optional ``key`` is in every frame; it must be in all frames or in none."""
    present = [key in frame for frame in frames]
    if any(present) and not all(present):
        raise TemplateError(f"{path}: frame {present.index(not present[0])}: key {key!r} is in some frames only")
    return present[0]


def _as_frame(path: Path, where: str, key: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """One frame's array as float32 ``shape``; singleton batch dims such as the official (1, 21, 3) are accepted."""
    array = np.asarray(value) if isinstance(value, (np.ndarray, np.generic, int, float, list, tuple)) else None
    if array is None or array.dtype.kind not in "fiu":
        raise TemplateError(f"{path}: {where}: key {key!r} is {type(value).__name__}, expected a numeric array")
    if [d for d in array.shape if d != 1] != [d for d in shape if d != 1]:
        raise TemplateError(f"{path}: {where}: key {key!r} has shape {array.shape}, expected {(1, *shape)}")
    return array.astype(np.float32).reshape(shape)


def _stack_frames(path: Path, frames: list[dict], key: str, shape: tuple[int, ...]) -> torch.Tensor:
    """``key`` of every frame stacked into an (N, *shape) float32 tensor."""
    arrays = []
    for i, frame in enumerate(frames):
        if key not in frame:
            raise TemplateError(f"{path}: frame {i}: missing key {key!r}")
        arrays.append(_as_frame(path, f"frame {i}", key, frame[key], shape))
    return torch.from_numpy(np.stack(arrays))


def _ratio_list(path: Path, data: dict, keys: tuple[str, ...], shape: tuple[int, ...], n: int) -> torch.Tensor | None:
    """An eye / lip ratio list stacked to (N, *shape), or None when the template has none."""
    key = next((k for k in keys if k in data), None)
    if key is None:
        return None
    values = data[key]
    if not isinstance(values, (list, tuple)) or len(values) != n:
        length = len(values) if isinstance(values, (list, tuple)) else type(values).__name__
        raise TemplateError(f"{path}: key {key!r} must be a list of {n} frames (one per motion frame), got {length}")
    return torch.from_numpy(np.stack([_as_frame(path, f"frame {i}", key, v, shape) for i, v in enumerate(values)]))


def _fps(path: Path, value: Any) -> float:
    """A positive finite frame rate."""
    try:
        fps = float(value)
    except (TypeError, ValueError):
        fps = float("nan")
    if not (np.isfinite(fps) and fps > 0):
        raise TemplateError(f"{path}: fps {value!r} is not a positive number")
    return fps


def _read_safetensors_metadata(path: Path) -> dict[str, str]:
    """The string metadata of one of our templates, checked for format name, version and required keys."""
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for missing files and corrupt headers
        raise TemplateError(f"{path}: not a readable safetensors file ({exc})") from exc
    if meta.get("format") != FORMAT_NAME:
        raise TemplateError(f"{path}: metadata 'format' is {meta.get('format')!r}, expected {FORMAT_NAME!r}")
    missing = [key for key in ("format_version", "fps", "n_frames") if key not in meta]
    if missing:
        raise TemplateError(f"{path}: metadata lacks {missing}")
    if not meta["format_version"].isdigit() or int(meta["format_version"]) > FORMAT_VERSION:
        raise TemplateError(
            f"{path}: format version {meta['format_version']!r} is not supported (this version reads up to {FORMAT_VERSION})"
        )
    if not meta["n_frames"].isdigit():
        raise TemplateError(f"{path}: metadata 'n_frames' is {meta['n_frames']!r}, expected an integer")
    return meta


def _load_safetensors(path: Path) -> MotionSequence:
    """Our format: batched tensors named like the MotionSequence fields."""
    meta = _read_safetensors_metadata(path)
    with safe_open(str(path), framework="pt") as f:
        tensors = {key: f.get_tensor(key).float() for key in f.keys()}
    _check_tensors(path, tensors, int(meta["n_frames"]))
    return MotionSequence(**tensors, fps=_fps(path, meta["fps"]))


def _check_tensors(path: Path, tensors: Mapping[str, torch.Tensor], n_frames: int) -> None:
    """Raise unless ``tensors`` are known MotionSequence fields, all mandatory ones present, shaped (n_frames, ...)."""
    shapes = {"R": (3, 3), **_FRAME_KEYS, **_OPTIONAL_FRAME_KEYS, **{k: v[0] for k, v in _RATIO_LISTS.items()}}
    unknown = sorted(set(tensors) - set(shapes))
    if unknown:
        raise TemplateError(f"{path}: unknown tensors {unknown}")
    missing = [key for key in ("R", *_FRAME_KEYS) if key not in tensors]
    if missing:
        raise TemplateError(f"{path}: missing tensors {missing}")
    for key, tensor in tensors.items():
        if tuple(tensor.shape) != (n_frames, *shapes[key]):
            raise TemplateError(f"{path}: tensor {key!r} has shape {tuple(tensor.shape)}, expected {(n_frames, *shapes[key])}")


# ---------------------------------------------------------------------------------------------
# Saving


def save_template(
    motion: MotionSequence,
    path: str | Path,
    metadata: Mapping[str, Any] | None = None,
    *,
    source: str = "",
    driving: str = "",
) -> Path:
    """Write ``motion`` as ours (``.safetensors``) or in the official layout (``.pkl``), by extension.

    ``metadata`` is a free-form JSON-serialisable dict and ``source`` / ``driving`` describe where
    the motion came from; only ``.safetensors`` keeps them (the official layout has no place for them).
    """
    path = Path(path)
    suffix = _extension(path)
    _check_tensors(path, motion.tensors(), len(motion))
    _fps(path, motion.fps)
    if suffix == ".safetensors":
        _save_safetensors(motion, path, metadata or {}, source, driving)
    else:
        with path.open("wb") as f:  # protocol 4: protocol 5 arrays need numpy._core.numeric, absent in numpy 1.26
            pickle.dump(official_layout(motion), f, protocol=4)
    return path


def _save_safetensors(motion: MotionSequence, path: Path, user: Mapping[str, Any], source: str, driving: str) -> None:
    """Batched float32 tensors plus string metadata."""
    try:
        user_json = json.dumps(dict(user), sort_keys=True)
    except TypeError as exc:
        raise TemplateError(f"{path}: user metadata is not JSON-serialisable ({exc})") from exc
    meta = {
        "format": FORMAT_NAME,
        "format_version": str(FORMAT_VERSION),
        "fps": repr(float(motion.fps)),
        "n_frames": str(len(motion)),
        "source": str(source),
        "driving": str(driving),
        "user": user_json,
    }
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in motion.tensors().items()}
    save_file(tensors, str(path), metadata=meta)


def official_layout(motion: MotionSequence) -> dict[str, Any]:
    """The dict the current official code writes: per-frame float32 arrays with a leading batch dim of 1.

    Ratio lists are written only when the motion has them; without them the official human
    pipeline stops with ``KeyError: 'c_d_eyes_lst'``, as it does on the shipped animal templates.
    """
    arrays = {k: v.detach().to("cpu", torch.float32).numpy() for k, v in motion.tensors().items()}
    frame_keys = ["scale", "R", "exp", "t", *(k for k in _OPTIONAL_FRAME_KEYS if k in arrays)]
    fps = float(motion.fps)
    layout: dict[str, Any] = {
        "n_frames": len(motion),
        "output_fps": int(fps) if fps.is_integer() else fps,
        "motion": [{key: arrays[key][i : i + 1].copy() for key in frame_keys} for i in range(len(motion))],
    }
    for name, (_, keys) in _RATIO_LISTS.items():
        if name in arrays:
            layout[keys[0]] = [arrays[name][i : i + 1].copy() for i in range(len(motion))]
    return layout
