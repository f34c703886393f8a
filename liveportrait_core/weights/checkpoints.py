"""Read LivePortrait checkpoints (.pth or .safetensors) and load them strictly into our networks.

Every reader returns a flat state dict in our module naming, whatever the file layout:

* the four official CNN files are flat ``OrderedDict``s already keyed like our modules;
* the official ``stitching_retargeting_module.pth`` nests three sub-dicts (``retarget_shoulder``,
  ``retarget_mouth``, ``retarget_eye``) whose keys carry a DDP ``module.`` prefix; they become
  ``stitching.*``, ``lip.*`` and ``eye.*``;
* converted ``.safetensors`` releases either use our flat naming or, for the stitching file,
  flatten the groups as ``retarget_shoulder_module.mlp.0.weight`` (Kijai/LivePortrait_safetensors).

Loading compares keys and shapes itself before ``load_state_dict`` so that a missing BatchNorm
``num_batches_tracked`` (which PyTorch would fill in silently) is reported like any other key.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from torch import Tensor, nn

from ..networks import NETWORK_NAMES, build_network

StateDict = dict[str, Tensor]

SAFETENSORS_SUFFIX = ".safetensors"
PICKLE_SUFFIXES = (".pth", ".pt", ".bin", ".ckpt")

# Official sub-dict of stitching_retargeting_module.pth -> our submodule name.
STITCHING_GROUPS: dict[str, str] = {"retarget_shoulder": "stitching", "retarget_mouth": "lip", "retarget_eye": "eye"}
_DDP_PREFIX = "module."
_SHOWN = 5  # keys listed per category in error messages


class CheckpointError(ValueError):
    """A checkpoint file cannot be read as a LivePortrait state dict."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint's keys or shapes do not match the network it is loaded into."""

    def __init__(self, network: str, path: Path | str, missing: list[str], unexpected: list[str],
                 mismatched: dict[str, tuple[tuple[int, ...], tuple[int, ...]]], looks_like: str | None):
        self.network, self.path = network, Path(path)
        self.missing, self.unexpected, self.mismatched, self.looks_like = missing, unexpected, mismatched, looks_like
        super().__init__(self._message())

    def _message(self) -> str:
        lines = [f"{self.path} does not fit the LivePortrait network {self.network!r}"]
        if self.looks_like:
            lines[0] += f": this looks like {self.looks_like}.pth, not {self.network}.pth"
        lines.append(_listing("missing keys", self.missing))
        lines.append(_listing("unexpected keys", self.unexpected))
        shapes = [f"{k}: expected {list(e)}, found {list(f)}" for k, (e, f) in self.mismatched.items()]
        lines.append(_listing("wrong shapes", shapes))
        return "\n  ".join(line for line in lines if line)


def _listing(label: str, items: Sequence[str]) -> str:
    """``label (N): a, b, c, ... (+M more)`` or an empty string when there are none."""
    if not items:
        return ""
    more = f", ... (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
    return f"{label} ({len(items)}): {', '.join(items[:_SHOWN])}{more}"


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_state_dict(path: str | Path) -> StateDict:
    """Flat state dict in our naming from a ``.pth`` (read with ``weights_only=True``) or ``.safetensors`` file.

    Tensors keep the file's dtype; ``load_network`` casts them.
    """
    path = Path(path)
    content = _load_file(path)
    if not isinstance(content, Mapping):
        raise CheckpointError(f"{path}: expected a dict of tensors, found {type(content).__name__}")
    nested = any(group in content for group in STITCHING_GROUPS)
    return _rename_stitching_keys(_flatten_stitching(content) if nested else _only_tensors(content, path))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` header of a ``.safetensors`` file (empty when there is none)."""
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def _load_file(path: Path) -> object:
    """The file's raw content on the CPU: safetensors, or a pickle restricted to tensors and containers."""
    if path.suffix not in (SAFETENSORS_SUFFIX, *PICKLE_SUFFIXES):
        raise CheckpointError(f"{path}: unsupported checkpoint type {path.suffix!r}; "
                              f"expected {SAFETENSORS_SUFFIX} or one of {', '.join(PICKLE_SUFFIXES)}")
    try:
        if path.suffix == SAFETENSORS_SUFFIX:
            return load_file(path, device="cpu")
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # corrupt zip, refused pickle, bad header...: all mean "not a weights file"
        raise CheckpointError(f"{path}: not a readable weights file ({err})") from err


def _only_tensors(content: Mapping, path: Path) -> StateDict:
    bad = [str(k) for k, v in content.items() if not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(f"{path}: expected a flat dict of tensors, but {_listing('entries', bad)} are not tensors")
    return dict(content)


def _flatten_stitching(nested: Mapping) -> StateDict:
    """Official nested S layout -> ``stitching.*`` / ``lip.*`` / ``eye.*``.

    Like the official loader, every ``module.`` substring is removed and other top-level entries
    are ignored.
    """
    return {
        f"{ours}.{key.replace(_DDP_PREFIX, '')}": value
        for group, ours in STITCHING_GROUPS.items()
        for key, value in nested.get(group, {}).items()
    }


def _rename_stitching_keys(state: StateDict) -> StateDict:
    """Map flattened official group names (``retarget_eye_module.mlp.0.weight``) to ours (``eye.mlp.0.weight``)."""
    return {_rename_stitching_key(key): value for key, value in state.items()}


def _rename_stitching_key(key: str) -> str:
    for group, ours in STITCHING_GROUPS.items():
        if key.startswith(group) and key[len(group):len(group) + 1] in ("_", "."):
            rest = key[len(group) + 1:]
            return f"{ours}.{rest.removeprefix(_DDP_PREFIX)}"
    return key


# ---------------------------------------------------------------------------------------------
# Checking and loading
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def expected_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """Key -> shape of network ``name``'s state dict (built on the meta device, so no memory or init cost)."""
    with torch.device("meta"):
        return {key: tuple(value.shape) for key, value in build_network(name).state_dict().items()}


def identify_network(keys: Iterable[str]) -> str | None:
    """The network whose key set best overlaps ``keys`` (Jaccard > 0.5), or None."""
    keys = set(keys)
    scores = {name: len(keys & set(expected_shapes(name))) / len(keys | set(expected_shapes(name)))
              for name in NETWORK_NAMES}
    best = max(scores, key=scores.get)
    return best if scores[best] > 0.5 else None


def check_state_dict(name: str, state: Mapping[str, Tensor], path: str | Path) -> None:
    """Raise ``CheckpointMismatchError`` unless ``state`` has exactly the keys and shapes of network ``name``."""
    expected = expected_shapes(name)
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = {k: (expected[k], tuple(state[k].shape)) for k in expected
                  if k in state and not _shape_fits(expected[k], tuple(state[k].shape))}
    if missing or unexpected or mismatched:
        guess = identify_network(state)
        raise CheckpointMismatchError(name, path, missing, unexpected, mismatched, guess if guess != name else None)


def _shape_fits(expected: tuple[int, ...], found: tuple[int, ...]) -> bool:
    """Equal shapes, or a 1-element vector for a scalar, which ``load_state_dict`` accepts too.

    (The shared synthetic files store ``num_batches_tracked`` as shape [1].)
    """
    return found == expected or (expected == () and found == (1,))


def load_network(name: str, path: str | Path, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None) -> nn.Module:
    """Network ``name`` in eval mode with the weights of ``path`` loaded strictly.

    Low-precision files are upcast into the fp32 module; ``dtype`` then casts the floating
    parameters and buffers (``num_batches_tracked`` stays int64). Raises
    ``CheckpointMismatchError`` naming the network, the file and every difference.
    """
    state = read_state_dict(path)
    check_state_dict(name, state, path)
    network = build_network(name)
    network.load_state_dict(state, strict=True)
    return network.to(device=device, dtype=dtype).eval()
