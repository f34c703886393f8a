"""Device and precision policy: where the networks run and in which floating-point format."""
from __future__ import annotations

import torch
from torch import Tensor, nn

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


# Submodules that run in low precision; everything else (F, M, S, keypoint heatmaps, softmax, deformation,
# grid_sample) stays float32, where bf16 rounding would move keypoints and sampling positions visibly.
LOW_PRECISION_PARTS: dict[str, tuple[str, ...]] = {
    "warping": ("dense_motion_network.hourglass", "dense_motion_network.mask", "dense_motion_network.occlusion",
                "third", "fourth"),
    "generator": ("",),
}


# Low-precision parts whose 2-D convolutions run channels-last (NHWC) on these devices: on the CPU (oneDNN with
# AMX) the eager generator ran 12% faster (2,153 -> 1,891 ms/frame in bf16, batch 4, same output); compiled, the same.
CHANNELS_LAST_PARTS: dict[str, tuple[str, ...]] = {"generator": ("",)}
CHANNELS_LAST_DEVICES = ("cpu", "cuda")


def _cast_inputs(dtype: torch.dtype, channels_last: bool):
    def cast(a: Tensor) -> Tensor:
        if channels_last and a.ndim == 4:
            return a.to(dtype, memory_format=torch.channels_last)
        return a.to(dtype)

    def hook(_module: nn.Module, args: tuple) -> tuple:
        return tuple(cast(a) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args)
    return hook


def _outputs_to_float(_module: nn.Module, _args: tuple, out: Tensor) -> Tensor:
    return out.float()


def run_in_low_precision(module: nn.Module, dtype: torch.dtype, channels_last: bool = False) -> None:
    """Store ``module``'s weights in ``dtype`` and make it take and return float32 tensors (in place);
    ``channels_last`` also stores its weights and takes its 4-D inputs in NHWC order.

    Parameter names are unchanged, so checkpoints and model managers see the same module.
    """
    if getattr(module, "_low_precision", None) is not None:
        raise RuntimeError(f"{type(module).__name__} already runs in {module._low_precision}")
    module.to(dtype)
    if channels_last:
        module.to(memory_format=torch.channels_last)
    module.register_forward_pre_hook(_cast_inputs(dtype, channels_last))
    module.register_forward_hook(_outputs_to_float)
    module._low_precision = dtype


def apply_precision(networks: dict[str, nn.Module], dtype: torch.dtype, device: torch.device | None = None) -> None:
    """Put the :data:`LOW_PRECISION_PARTS` of ``networks`` (field name -> module) in ``dtype``, the
    :data:`CHANNELS_LAST_PARTS` channels-last on ``device`` types that gain from it; no-op for float32."""
    if dtype == torch.float32:
        return
    nhwc = device is not None and device.type in CHANNELS_LAST_DEVICES
    for field, parts in LOW_PRECISION_PARTS.items():
        for path in parts:
            channels_last = nhwc and path in CHANNELS_LAST_PARTS.get(field, ())
            run_in_low_precision(networks[field].get_submodule(path), dtype, channels_last)
