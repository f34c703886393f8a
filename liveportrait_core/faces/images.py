"""Normalising image inputs: numpy or torch, uint8 or float, grey, RGB or RGBA, one image or a batch."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor


def image_items(images: Sequence[np.ndarray] | np.ndarray | Tensor) -> Sequence[np.ndarray | Tensor]:
    """The images of a batch, unconverted: a 4-D array or tensor gives its N images, a lower one is one image."""
    if isinstance(images, (np.ndarray, Tensor)):
        return list(images) if images.ndim == 4 else [images]
    return images


def as_uint8_images(images: Sequence[np.ndarray] | np.ndarray | Tensor) -> list[np.ndarray]:
    """Any batch of RGB images -> list of contiguous uint8 (H, W, 3) numpy arrays.

    Accepts uint8 or float in [0, 1] (ComfyUI's IMAGE), greyscale (H, W) or (H, W, 1), and RGBA
    (alpha dropped: the backends see colour only; composite first if the background matters).
    """
    out = []
    for i, img in enumerate(image_items(images)):
        a = img.detach().cpu().numpy() if isinstance(img, Tensor) else np.asarray(img)
        if a.ndim == 2:
            a = a[..., None]
        if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
            raise ValueError(f"image {i}: expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {a.shape}")
        if a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(f"image {i} is empty ({a.shape[1]}x{a.shape[0]})")
        if a.dtype != np.uint8:
            if not np.issubdtype(a.dtype, np.floating):
                raise ValueError(f"image {i}: expected uint8 or float in [0, 1], got {a.dtype}")
            a = np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)
        a = np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a[..., :3]
        out.append(np.require(a, np.uint8, ("C_CONTIGUOUS", "WRITEABLE")))
    return out


def frames_tensor(frames: np.ndarray | Tensor) -> Tensor:
    """uint8 RGB frames (N, H, W, 3) or one (H, W, 3), numpy or torch -> uint8 tensor (N, H, W, 3);
    no copy unless a numpy array is read-only (as Pillow's are)."""
    if isinstance(frames, np.ndarray):
        frames = torch.from_numpy(np.require(frames, requirements=("WRITEABLE",)))
    if frames.ndim == 3:
        frames = frames[None]
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != torch.uint8:
        raise ValueError(f"expected uint8 RGB frames (N, H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
    return frames


def uint8_frames(frames: Tensor) -> Tensor:
    """(n, 3, H, W) float renders in [0, 1] -> (n, H, W, 3) uint8 on the frames' device.

    Truncates (no rounding) exactly like the official ``parse_output``, so frames compare bit for bit.
    """
    return (frames.float().clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1)
