"""The five LivePortrait networks as the official code computes them, built by name with the official parameter
names and shapes. Faster equivalents live in :mod:`liveportrait_core.acceleration`."""
from __future__ import annotations

from importlib import import_module

from torch import nn

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
