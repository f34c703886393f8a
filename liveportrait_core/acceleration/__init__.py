"""Faster equivalents of the official networks, applied by one explicit pass: :func:`accelerate`.

``liveportrait_core.networks`` computes as the official code does; this package swaps some of its submodules for
drop-ins that hold the very same parameters (so checkpoints and ComfyUI's model management see the same names) and
compute the same values up to float rounding, folds weights where a division or a convolution can be done once, and
puts the heavy parts in the engine's precision and memory layout. Which drop-ins a device takes is a frozen
:class:`Routes`; the official computation is the pass not applied.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ..networks.blocks import ConvBlock
from ..networks.spade_generator import SPADEDecoder
from ..networks.warping import WarpingNetwork
from .depth_slices import DepthTapsConv3d, FlattenedDepthConv2d
from .fourier_heads import kept_spectra_bytes
from .generator import FastSPADEDecoder, fast_generator
from .layouts import apply_layouts
from .routes import Routes
from .runtime import compiled_parts
from .swap import conv_as, replace_modules
from .warping import FastConvBlock, FastDenseMotionNetwork
from .winograd import winograd_kernel_bytes

if TYPE_CHECKING:
    from ..weights.files import LivePortraitNetworks

__all__ = ["Routes", "accelerate", "accelerate_renderer", "kept_kernel_bytes"]


def accelerate(networks: "LivePortraitNetworks", device: torch.device, dtype: torch.dtype, compiled: bool = False,
               routes: Routes | None = None) -> "LivePortraitNetworks":
    """Swap the faster drop-ins into ``networks`` (in place; returned for chaining) for rendering on ``device`` in
    ``dtype``: the appearance extractor's blocks, and W and G by :func:`accelerate_renderer`. The networks must
    already be on ``device``, in float32, with their weights loaded."""
    routes = routes or Routes.for_device(device.type)
    networks.appearance = _accelerate_blocks(networks.appearance, routes)
    networks.warping, networks.generator = accelerate_renderer(networks.warping, networks.generator, device, dtype,
                                                               compiled, routes)
    return networks


def accelerate_renderer(warping: WarpingNetwork, generator: SPADEDecoder, device: torch.device, dtype: torch.dtype,
                        compiled: bool = False, routes: Routes | None = None) -> tuple[nn.Module, nn.Module]:
    """W and G with the faster drop-ins of ``routes`` (default :meth:`Routes.for_device`), less the hand-written
    kernels in the parts that ``compiled`` compiles on ``device``; then their heavy parts put in ``dtype`` and their
    layout (``layouts.py``). Float32 W and G on ``device`` in, the same modules' parameters in the ones returned."""
    routes = routes or Routes.for_device(device.type)
    compiled_now = compiled_parts(device, compiled)
    warping = _accelerate_warping(warping, routes.for_compiled() if "warping" in compiled_now else routes, dtype)
    generator = fast_generator(generator, routes.for_compiled() if "generator" in compiled_now else routes)
    apply_layouts({"warping": warping, "generator": generator}, dtype, device, compiled, routes.float32_channels_last)
    return warping, generator


def _accelerate_blocks(network: nn.Module, routes: Routes) -> nn.Module:
    """``network`` with its conv blocks as :class:`FastConvBlock` s."""
    replace_modules(network, ConvBlock, lambda block: FastConvBlock(block, routes))
    return network


def _accelerate_warping(warping: WarpingNetwork, routes: Routes, dtype: torch.dtype) -> WarpingNetwork:
    """W with :class:`FastDenseMotionNetwork`, fast blocks, and with ``sliced_heads`` its heads over depth slices
    (the occlusion head only in half precision, where matrix units repay the slices' extra arithmetic)."""
    motion = warping.dense_motion_network
    if routes.sliced_heads:
        motion.mask = conv_as(DepthTapsConv3d, motion.mask)
        if dtype != torch.float32:
            motion.occlusion = conv_as(FlattenedDepthConv2d, motion.occlusion)
    warping.dense_motion_network = FastDenseMotionNetwork(motion, routes)
    return _accelerate_blocks(warping, routes)


def kept_kernel_bytes(module: nn.Module) -> int:
    """An upper bound on the memory the transformed kernels of ``module``'s accelerated parts take once they have
    run (Winograd's, the warping heads' spectra; ``kernel_cache.py``), for hosts that budget memory by weight size
    (ComfyUI's model management)."""
    total = 0
    for part in module.modules():
        if isinstance(part, (FastSPADEDecoder, FastConvBlock)) and part.winograd:
            total += winograd_kernel_bytes(part)
        elif isinstance(part, FastDenseMotionNetwork) and part.fourier_heads:
            total += kept_spectra_bytes(part.mask.weight) + kept_spectra_bytes(part.occlusion.weight)
    return total
