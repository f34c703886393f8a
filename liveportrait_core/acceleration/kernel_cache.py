"""Transformed kernels (Winograd's, Fourier spectra) kept on the weight they came from.

Remaking a transform on every call costs a measurable share of a frame (~10% of the generator's for Winograd's), so
the result is stored on the weight Parameter (an attribute, not state: it is never saved) and remade when the
weight's storage, in-place version, dtype or device changes, e.g. after ``load_state_dict``, a cast or a move.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def kept_transform(weight: Tensor, tag: str, make: Callable[[Tensor], Tensor]) -> Tensor:
    """``make(weight)``, kept on ``weight`` under the attribute ``tag`` when it is a Parameter (kernels made per call,
    e.g. folded ones, are not kept)."""
    key = (weight.data_ptr(), _version(weight), weight.dtype, weight.device)
    cached = getattr(weight, tag, None)
    if cached is not None and cached[0] == key:
        return cached[1]
    transformed = make(weight)
    if isinstance(weight, torch.nn.Parameter):
        setattr(weight, tag, (key, transformed))
    return transformed


def _version(t: Tensor) -> int | None:
    """The in-place version counter, or None for inference tensors, which have none (their kernels are then keyed by
    storage, dtype and device alone)."""
    try:
        return t._version
    except RuntimeError:
        return None
