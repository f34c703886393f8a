"""The five LivePortrait networks, built by name with the official parameter names and shapes."""
from __future__ import annotations

from importlib import import_module

from torch import nn

from .depth_slices import DepthTapsConv3d, FlattenedDepthConv2d
from .fourier_heads import kept_spectra_bytes
from .winograd import winograd_kernel_bytes

# network name (= official checkpoint stem) -> (module, class)
_REGISTRY: dict[str, tuple[str, str]] = {
    "appearance_feature_extractor": ("appearance", "AppearanceFeatureExtractor"),
    "motion_extractor": ("motion_extractor", "MotionExtractor"),
    "warping_module": ("warping", "WarpingNetwork"),
    "spade_generator": ("spade_generator", "SPADEDecoder"),
    "stitching_retargeting_module": ("stitching", "StitchingRetargeting"),
}
NETWORK_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def build_network(name: str) -> nn.Module:
    """A freshly initialised network, in eval mode, whose ``state_dict`` keys match the official file."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown LivePortrait network {name!r}; expected one of {', '.join(NETWORK_NAMES)}")
    module, cls = _REGISTRY[name]
    return getattr(import_module(f"{__name__}.{module}"), cls)().eval()


def kept_kernel_bytes(module: nn.Module) -> int:
    """An upper bound on the memory the transformed kernels of ``module``'s faster routes take once it has run
    (Winograd's, the warping heads' spectra; ``kernel_cache.py``), for hosts that budget memory by weight size
    (ComfyUI's model management)."""
    heads = (DepthTapsConv3d, FlattenedDepthConv2d)
    spectra = sum(kept_spectra_bytes(m.weight) for m in module.modules() if isinstance(m, heads))
    return winograd_kernel_bytes(module) + spectra
