"""Device and precision policy: where the networks run and in which floating-point format."""
from __future__ import annotations

import torch

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES: dict[str, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device that is not available is an error."""
    if isinstance(name, torch.device):
        return name
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} was requested but this torch build sees no CUDA GPU; use 'cpu' or 'auto'")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError(f"device {name!r} was requested but MPS is not available; use 'cpu' or 'auto'")
    return device


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """Compute dtype for ``precision`` on ``device``.

    ``auto`` is bf16 on GPUs that support it, else fp16 on GPU (the official default is fp16
    autocast), and fp32 on CPU, where low precision is opt-in because its speed depends on the CPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision != "auto":
        return DTYPES[precision]
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.float32


def cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU has AMX tiles (Xeon Sapphire Rapids and later), on which bf16 renders several times faster
    than fp32 (docs/performance.md)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent from older torch builds
    return bool(probe is not None and probe())
