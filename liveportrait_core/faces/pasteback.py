"""Paste rendered crops back into the original frames, batched on torch.

The mask is generated, not loaded: ``floor(255 · clip(1 − d / feather, 0, 1))`` with ``d`` the
distance of pixel (x, y) to the square ``[feather, dsize − feather]²``. With dsize 512 and feather 16
this is the official ``mask_template.png`` bit for bit (rounded corners, one pixel off-centre, 88 %
fully opaque). ``feather`` widens or narrows the soft edge; 0 gives a hard-edged square.

Renders resized to another square side S (an upscaler or face restorer between the render and the
paste) are pasted with ``M_c2o`` composed with the resize (:func:`resized_crop_to_original`) and a
mask built at S with the feather scaled by S / dsize (``paste_mask(dsize, feather, size=S)``), so the
face lands where the crop was and the soft edge covers the same part of it. S = dsize changes nothing.

Official order (``prepare_paste_back`` / ``paste_back``): the uint8 mask and the uint8 crop are each
warped with ``M_c2o`` (INTER_LINEAR, zero border) and stored as uint8; the mask becomes ``/255`` in
float32; the blend ``mask·crop + (1 − mask)·frame`` is clipped and **truncated** to uint8.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .images import frames_tensor, uint8_frames
from .warp import warp_affine_uint8

DEFAULT_FEATHER = 16.0  # official mask_template.png


def paste_mask(dsize: int = 512, feather: float = DEFAULT_FEATHER, device: torch.device | str | None = None,
               size: int | None = None) -> Tensor:
    """uint8 (size, size) feathered square mask for crops of side ``dsize`` resized to ``size`` (default: not
    resized); ``feather`` is in ``dsize`` pixels and scales with the resize (see the module docstring)."""
    if not 0 <= feather <= dsize / 2:
        raise ValueError(f"feather must be between 0 and dsize/2 = {dsize / 2}, got {feather}")
    size = size or dsize
    feather = feather * (size / dsize)  # exactly feather when size == dsize
    coords = torch.arange(size, dtype=torch.float64, device=device)
    outside = (feather - coords).clamp_min(0) + (coords - (size - feather)).clamp_min(0)  # per axis
    d = torch.hypot(outside[:, None], outside[None, :])
    if feather == 0:
        return torch.where(d == 0, 255, 0).to(torch.uint8)
    return torch.floor(255 * (1 - d / feather).clamp(0, 1)).to(torch.uint8)


def resized_crop_to_original(crop_to_original: Tensor, dsize: int, size: int) -> Tensor:
    """(B, 3, 3) float64 ``M_c2o`` for crops of side ``dsize`` resized to ``size`` (e.g. by an upscaler).

    Resizing lines up pixel centres, ``x_crop = (x + 1/2) · dsize / size − 1/2``, so the map is ``M_c2o``
    after that scale; with ``size == dsize`` the scale is the identity and ``M_c2o`` comes back bit for bit.
    """
    k = dsize / size
    resize = torch.tensor([[k, 0, (k - 1) / 2], [0, k, (k - 1) / 2], [0, 0, 1]], dtype=torch.float64)
    return crop_to_original.double() @ resize.to(crop_to_original.device)


def warp_mask(mask: Tensor, crop_to_original: Tensor, out_hw: tuple[int, int]) -> Tensor:
    """Crop-space uint8 mask (d, d) -> float32 (B, H, W) in the frames, multiples of 1/255 (``prepare_paste_back``).

    Args:
        crop_to_original: (B, 3, 3) ``M_c2o``.
    """
    warped = warp_affine_uint8(mask[None, None].expand(crop_to_original.shape[0], 1, -1, -1),
                               crop_to_original, out_hw)
    return warped[:, 0].float() / 255


def paste_back(crops: Tensor, crop_to_original: Tensor, frames: np.ndarray | Tensor, mask: Tensor,
               keep: Tensor | None = None) -> Tensor:
    """Composite crops into frames (official ``paste_back``).

    Args:
        crops: uint8 (B, S, S, 3) crops, or float (B, 3, S, S) renders in [0, 1] (converted to uint8 by
            truncation first, as the official ``parse_output``); S is the crop side or any other side
            they were resized to.
        crop_to_original: (B or 1, 3, 3) ``M_c2o`` of crops of side S (:func:`resized_crop_to_original`).
        frames: uint8 (B or 1, H, W, 3) original frames (numpy or torch).
        mask: float (B or 1, H, W) from :func:`warp_mask`.
        keep: optional bool (B,): False leaves that frame's original pixels untouched.

    Returns:
        uint8 (B, H, W, 3) on the crops' device.
    """
    if crops.dtype != torch.uint8:
        crops = uint8_frames(crops)
    device = crops.device
    frames, mask = frames_tensor(frames).to(device), mask.to(device)
    out = frames.expand(crops.shape[0], -1, -1, -1).clone()
    window = _crop_window(crop_to_original, crops.shape[1], frames.shape[1:3])
    if window is None:
        return out
    (y0, y1), (x0, x1) = window
    shift = torch.eye(3, dtype=torch.float64)
    shift[:2, 2] = torch.tensor([-x0, -y0], dtype=torch.float64)
    warped = warp_affine_uint8(crops.permute(0, 3, 1, 2), shift @ crop_to_original.double().cpu(),
                               (y1 - y0, x1 - x0)).permute(0, 2, 3, 1)
    m = mask[:, y0:y1, x0:x1, None]
    region = out[:, y0:y1, x0:x1]
    blended = (m * warped.float() + (1 - m) * region.float()).clamp(0, 255).to(torch.uint8)
    if keep is not None:
        blended = torch.where(keep.to(device)[:, None, None, None], blended, region)
    out[:, y0:y1, x0:x1] = blended
    return out


def _crop_window(crop_to_original: Tensor, side: int, hw: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Rows and columns ``((y0, y1), (x0, x1))`` of the frame that the crops (of side ``side``) can touch (their
    squares plus the one-pixel reach of bilinear sampling), or None when they lie outside the frame. Only this
    window is warped."""
    corners = torch.tensor([[0, 0], [side, 0], [side, side], [0, side]], dtype=torch.float64)
    m = crop_to_original.double().cpu()
    pts = (corners @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]).reshape(-1, 2)
    lo, hi = pts.min(dim=0).values.floor() - 1, pts.max(dim=0).values.ceil() + 2
    x0, y0 = (max(0, int(v)) for v in lo)
    x1, y1 = min(hw[1], int(hi[0])), min(hw[0], int(hi[1]))
    return ((y0, y1), (x0, x1)) if x1 > x0 and y1 > y0 else None
