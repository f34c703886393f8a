"""Device and precision policy: where the networks run and in which floating-point format."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ..networks.routes import takes

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
    """Whether this CPU has AMX tiles (Xeon Sapphire Rapids and later), on which bf16 renders ~4x faster than fp32."""
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private; absent from older torch builds
    return bool(probe is not None and probe())


# Submodules that run in low precision; everything else (F, M, S, keypoint heatmaps, softmax, deformation,
# grid_sample) stays float32, where bf16 rounding would move keypoints and sampling positions visibly.
LOW_PRECISION_PARTS: dict[str, tuple[str, ...]] = {
    "warping": ("dense_motion_network.hourglass", "dense_motion_network.mask", "dense_motion_network.occlusion",
                "third", "fourth"),
    "generator": ("",),
}
# Low-precision parts whose output feeds only other low-precision parts: it stays in low precision instead of a
# float32 round trip (the hourglass output is 142 x 16 x 64 x 64 per frame: ~50 ms/frame of copies on the CPU).
LOW_PRECISION_OUTPUTS: dict[str, tuple[str, ...]] = {"warping": ("dense_motion_network.hourglass", "third")}


# Parts that run channels-last (NHWC for 4-D, NDHWC for 5-D tensors), and on which device types, eager or compiled,
# they gain from it. CPU (oneDNN with AMX, bf16, batch 4, same outputs): the eager generator ran 12% faster
# (2,153 -> 1,891 ms/frame), compiled the same; W 812-841 -> 664-671 ms/frame with its mask head (then over
# depth windows) channels-last, 528-554 -> 486-500 once its pooling kept the layout. In float32 on the CPU (batch 2):
# G 3,080 -> 2,750 and W 1,400 -> 1,300 ms/frame, so float32 takes the layout there too. CUDA (H200, bf16,
# batch 32): eager, channels-last was slower (W 2.58 -> 2.95, G 3.74 -> 4.78 ms/frame); compiled, channels-last W
# ran 2.14 against 2.27 ms/frame.
CHANNELS_LAST_PARTS: dict[str, tuple[str, ...]] = {
    "generator": ("",), "warping": ("dense_motion_network.hourglass", "dense_motion_network.mask")}
CHANNELS_LAST_ON: dict[str, tuple[bool, ...]] = {"cpu": (False, True), "cuda": (True,)}  # device -> compiled?


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}  # tensor rank -> channels-last format


def _cast_inputs(dtype: torch.dtype, channels_last: bool):
    formats = _CHANNELS_LAST if channels_last else {}

    def cast(a: Tensor) -> Tensor:
        return a.to(dtype, memory_format=formats.get(a.ndim, torch.preserve_format))

    def hook(_module: nn.Module, args: tuple) -> tuple:
        return tuple(cast(a) if isinstance(a, Tensor) and a.is_floating_point() else a for a in args)
    return hook


def _outputs_to_float(_module: nn.Module, _args: tuple, out: Tensor) -> Tensor:
    return out.float()


def run_in(module: nn.Module, dtype: torch.dtype, channels_last: bool = False, float_output: bool = True) -> None:
    """Store ``module``'s weights in ``dtype`` and make it take float32 tensors (in place).

    It returns float32 tensors, or ``dtype`` ones without ``float_output``; ``channels_last`` also stores its
    weights and takes its inputs in NHWC (4-D) or NDHWC (5-D) order.

    Parameter names are unchanged, so checkpoints and model managers see the same module.
    """
    if getattr(module, "_compute_format", None) is not None:
        raise RuntimeError(f"{type(module).__name__} already runs in {module._compute_format}")
    module.to(dtype)
    if channels_last:
        for param in module.parameters():  # 2-D and 3-D convolution kernels
            if param.ndim in _CHANNELS_LAST:
                param.data = param.data.contiguous(memory_format=_CHANNELS_LAST[param.ndim])
    module.register_forward_pre_hook(_cast_inputs(dtype, channels_last))
    if float_output and dtype != torch.float32:
        module.register_forward_hook(_outputs_to_float)
    module._compute_format = (dtype, "channels-last" if channels_last else "contiguous")


def apply_precision(networks: dict[str, nn.Module], dtype: torch.dtype, device: torch.device | None = None,
                    compiled: bool = False) -> None:
    """Put the :data:`LOW_PRECISION_PARTS` of ``networks`` (field name -> module) in ``dtype``, the
    :data:`CHANNELS_LAST_PARTS` channels-last where they gain from it (:data:`CHANNELS_LAST_ON`, by ``device``
    and ``compiled``; in float32 only where the ``float32_channels_last`` route is on). Float32 parts that stay
    contiguous are left as they are."""
    device_type = None if device is None else device.type
    channels_last = compiled in CHANNELS_LAST_ON.get(device_type, ()) and (
        dtype != torch.float32 or takes("float32_channels_last", device_type or ""))
    nhwc = CHANNELS_LAST_PARTS if channels_last else {}
    for field, parts in LOW_PRECISION_PARTS.items():
        for path in parts:
            layout = path in nhwc.get(field, ())
            if dtype != torch.float32 or layout:  # a float32 part changes only its layout, if at all
                run_in(networks[field].get_submodule(path), dtype, channels_last=layout,
                       float_output=path not in LOW_PRECISION_OUTPUTS.get(field, ()))
