"""Device and precision policy: where the networks run and in which floating-point format."""
from __future__ import annotations

import warnings

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

    ``auto`` is fp16 on an NVIDIA GPU with tensor cores: the official default there, and measured as fast as bf16
    with about a tenth of its deviation from fp32 (README, "Precision"); fp32 on older GPUs and on the CPU, where
    low precision is opt-in because its speed depends on the CPU. A format the GPU cannot run fast falls back to
    one it can, with a warning.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        return _cuda_dtype(precision, device)
    if precision == "fp16" and device.type == "cpu" and not cpu_has_fp16_arithmetic():
        warnings.warn("this CPU has no fp16 arithmetic (AVX512-FP16 or AMX-FP16), so fp16 is emulated and renders "
                      "many times slower than fp32 (docs/performance.md); choose fp32, or bf16 for less memory")
    if precision != "auto":
        return DTYPES[precision]
    return torch.float16 if device.type == "mps" else torch.float32


def _cuda_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``precision`` on a CUDA device: fp16 needs tensor cores (compute capability 7.0) to gain, bf16 needs 8.0."""
    capability = torch.cuda.get_device_capability(device)
    if precision == "auto":
        return torch.float16 if capability >= (7, 0) else torch.float32
    if precision == "bf16" and capability < (8, 0):
        warnings.warn(f"{torch.cuda.get_device_name(device)} has no bf16 arithmetic (compute capability "
                      f"{capability[0]}.{capability[1]}); rendering in fp16, the official default, instead")
        return torch.float16
    if precision == "fp16" and capability < (6, 0):
        warnings.warn(f"{torch.cuda.get_device_name(device)} has no fast fp16 arithmetic (compute capability "
                      f"{capability[0]}.{capability[1]}); rendering in fp32 instead")
        return torch.float32
    return DTYPES[precision]


def cpu_has_fp16_arithmetic() -> bool:
    """Whether oneDNN runs fp16 natively on this CPU (AVX512-FP16 or AMX-FP16); elsewhere fp16 is emulated."""
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_fp16_supported", None)
    return bool(probe is not None and probe())


def cpu_has_bf16_matrix_units() -> bool:
    """Whether this CPU has AMX tiles (Xeon Sapphire Rapids and later), on which bf16 renders several times faster
    than fp32 (docs/performance.md)."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent from older torch builds
    return bool(probe is not None and probe())
