"""ComfyUI IMAGE batches (B, H, W, C floats in [0, 1]) to network inputs and uint8 frames, and renders back."""
from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ..liveportrait_core.faces import network_input as crops_to_input
from .comfy import model_management

MOTION_CHUNK = 16  # driving frames resized and run through the motion extractor at a time


def check_image(image: Tensor, what: str) -> None:
    """Raise a clear error unless ``image`` is a non-empty IMAGE batch with RGB or RGBA channels."""
    if image.ndim != 4 or image.shape[0] == 0 or image.shape[-1] not in (3, 4):
        raise ValueError(f"{what} must be an IMAGE batch shaped (frames, height, width, 3), got {tuple(image.shape)}")


def to_uint8(image: Tensor) -> Tensor:
    """(B, H, W, 3 or 4) IMAGE -> uint8 (B, H, W, 3) RGB, rounded (exact for images loaded from 8-bit files)."""
    return (image[..., :3] * 255).round().clamp(0, 255).to(torch.uint8)


def network_input(image: Tensor, device: torch.device) -> Tensor:
    """(B, H, W, 3 or 4) IMAGE -> (B, 3, 256, 256) float32 on ``device``, as the core prepares 8-bit frames."""
    return crops_to_input(to_uint8(image)).to(device)


def network_chunks(image: Tensor, device: torch.device, size: int = MOTION_CHUNK) -> Iterator[Tensor]:
    """:func:`network_input` of consecutive slices of ``size`` frames, so long clips stay in bounded memory."""
    for start in range(0, image.shape[0], size):
        yield network_input(image[start:start + size], device)


def from_uint8(frames: Tensor) -> Tensor:
    """uint8 (B, H, W, 3) -> IMAGE on ComfyUI's intermediate device."""
    return (frames.float() / 255).to(model_management.intermediate_device())


def to_image(frames: Tensor) -> Tensor:
    """(n, 3, H, W) rendered floats -> (n, H, W, 3) IMAGE in [0, 1] on ComfyUI's intermediate device."""
    return frames.clamp(0, 1).permute(0, 2, 3, 1).to(model_management.intermediate_device())
