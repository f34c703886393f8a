"""Turning pictures into network inputs: uint8 RGB frames -> float (N, 3, 256, 256) in [0, 1]."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

INPUT_SIZE = 256


def to_tensor(frames: np.ndarray | Tensor, device: torch.device | str = "cpu") -> Tensor:
    """uint8 (N, H, W, 3) or (H, W, 3) RGB -> float32 (N, 3, H, W) in [0, 1] (``x / 255`` in float32, as the official code)."""
    if isinstance(frames, np.ndarray):
        frames = np.array(frames, copy=not frames.flags.writeable or not frames.flags.c_contiguous)
    t = torch.as_tensor(frames)
    if t.ndim == 3:
        t = t[None]
    if t.ndim != 4 or t.shape[-1] != 3:
        raise ValueError(f"expected RGB frames shaped (N, H, W, 3), got {tuple(t.shape)}")
    if t.dtype == torch.uint8:
        t = t.to(device).float() / 255
    else:
        t = t.to(device=device, dtype=torch.float32)
    return t.permute(0, 3, 1, 2).contiguous()


def resize_to_input(images: Tensor, size: int = INPUT_SIZE) -> Tensor:
    """(N, 3, H, W) -> (N, 3, size, size); a copy when already that size.

    Uses antialiased bilinear resampling, so large uncropped inputs do not alias (the official
    ``--no_flag_do_crop`` path uses cv2's plain bilinear resize; at 256x256 both are the identity).
    """
    if images.shape[-2:] == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
