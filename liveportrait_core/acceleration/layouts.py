"""Which parts of W and G run in half precision and which channels-last, and the hooks that make them take and give
float32 tensors."""
from __future__ import annotations

import torch
from torch import Tensor, nn

# Submodules that run in low precision; everything else (F, M, S, keypoint heatmaps, softmax, deformation,
# grid_sample) stays float32, where bf16 rounding would move keypoints and sampling positions visibly.
LOW_PRECISION_PARTS: dict[str, tuple[str, ...]] = {
    "warping": ("dense_motion_network.hourglass", "dense_motion_network.mask", "dense_motion_network.occlusion",
                "third", "fourth"),
    "generator": ("",),
}
# Low-precision parts whose output feeds only other low-precision parts: it stays in low precision instead of a
# float32 round trip (the hourglass output is the largest tensor of a frame).
LOW_PRECISION_OUTPUTS: dict[str, tuple[str, ...]] = {"warping": ("dense_motion_network.hourglass", "third")}

# Parts that run channels-last (NHWC for 4-D, NDHWC for 5-D tensors), and the device types on which they gain from
# it, eager or compiled (device -> compiled?); in float32 on the CPU only with the ``float32_channels_last`` route.
CHANNELS_LAST_PARTS: dict[str, tuple[str, ...]] = {
    "generator": ("",), "warping": ("dense_motion_network.hourglass", "dense_motion_network.mask")}
CHANNELS_LAST_ON: dict[str, tuple[bool, ...]] = {"cpu": (False, True), "cuda": (True,)}

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
    weights and takes its inputs in NHWC (4-D) or NDHWC (5-D) order. Parameter names are unchanged, so checkpoints
    and model managers see the same module.
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


def apply_layouts(networks: dict[str, nn.Module], dtype: torch.dtype, device: torch.device | None = None,
                  compiled: bool = False, float32_channels_last: bool = False) -> None:
    """Put the :data:`LOW_PRECISION_PARTS` of ``networks`` (field name -> module) in ``dtype``, the
    :data:`CHANNELS_LAST_PARTS` channels-last where they gain from it (:data:`CHANNELS_LAST_ON`, by ``device`` and
    ``compiled``; in float32 only with ``float32_channels_last``). Float32 parts that stay contiguous are left as
    they are."""
    device_type = None if device is None else device.type
    channels_last = compiled in CHANNELS_LAST_ON.get(device_type, ()) and (
        dtype != torch.float32 or float32_channels_last)
    nhwc = CHANNELS_LAST_PARTS if channels_last else {}
    for field, parts in LOW_PRECISION_PARTS.items():
        for path in parts:
            layout = path in nhwc.get(field, ())
            if dtype != torch.float32 or layout:  # a float32 part changes only its layout, if at all
                run_in(networks[field].get_submodule(path), dtype, channels_last=layout,
                       float_output=path not in LOW_PRECISION_OUTPUTS.get(field, ()))
