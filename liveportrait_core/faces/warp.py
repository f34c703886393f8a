"""Image warps with cv2's conventions, batched on torch (any device).

``warp_affine`` is ``cv2.warpAffine(img, M[:2], (w, h), flags=INTER_LINEAR)`` with ``M`` the forward
(source -> destination) map: integer pixel centres (``dst(x, y) = src(M⁻¹·(x, y, 1))``), bilinear
taps, constant-zero border (samples at the edge blend with 0). The inverse is taken in float64.
cv2 quantises sample positions to 1/32 pixel; this samples exactly, which stays within one uint8
level of cv2 (rounding half up, as cv2 does for uint8).

``downscale2`` is cv2's ``INTER_AREA`` (and ``INTER_LINEAR``) for an exact factor 2 on uint8:
``(sum of the 2x2 block + 2) >> 2``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .crop_geometry import invert_affine


def sample_grid(matrices: Tensor, in_hw: tuple[int, int], out_hw: tuple[int, int], dtype: torch.dtype,
                device: torch.device | str = "cpu") -> Tensor:
    """``grid_sample`` grid (B, h, w, 2) on ``device`` for forward affine maps (B, 3, 3) from ``in_hw`` images to ``out_hw``.

    Source pixel coordinates are computed in float64 (float32 on MPS, which has no float64) and
    normalised with ``align_corners=True`` (``x_norm = 2x / (W − 1) − 1``): cv2's integer-centre convention.
    """
    work = torch.float32 if torch.device(device).type == "mps" else torch.float64
    inv = invert_affine(matrices.cpu()).to(work).to(device)  # destination -> source
    h, w = out_hw
    xs = torch.arange(w, dtype=inv.dtype, device=inv.device)
    ys = torch.arange(h, dtype=inv.dtype, device=inv.device)
    axes = []
    for row, extent in ((0, in_hw[1]), (1, in_hw[0])):
        a, b, c = (inv[:, row, col, None] for col in range(3))  # (B, 1) each
        # source coordinate a·x + b·y + c, normalised to [-1, 1]
        k = 2 / max(extent - 1, 1)
        axes.append((((a * xs + c)[:, None, :] + (b * ys)[:, :, None]) * k - 1).to(dtype))
    return torch.stack(axes, dim=-1)


def warp_affine(images: Tensor, matrices: Tensor, out_hw: tuple[int, int]) -> Tensor:
    """Bilinear affine warp of (B, C, H, W) images (any real dtype) by forward maps (B or 1, 3, 3).

    Returns float (B, C, h, w), unrounded (float64 for float64 input, else float32). A batch of one
    matrix serves every image (one grid).
    """
    if images.shape[-2] < 1 or images.shape[-1] < 1:
        raise ValueError(f"cannot warp an empty image of shape {tuple(images.shape)}")
    dtype = torch.float64 if images.dtype == torch.float64 else torch.float32
    grid = sample_grid(matrices, images.shape[-2:], out_hw, dtype, images.device)
    if grid.shape[0] == 1 and images.shape[0] > 1:
        grid = grid.expand(images.shape[0], -1, -1, -1)
    return F.grid_sample(images.to(dtype), grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def round_to_uint8(images: Tensor) -> Tensor:
    """Float pixel values -> uint8, rounding half up and saturating, as cv2 stores uint8 results."""
    return torch.floor(images + 0.5).clamp_(0, 255).to(torch.uint8)


def warp_affine_uint8(images: Tensor, matrices: Tensor, out_hw: tuple[int, int]) -> Tensor:
    """:func:`warp_affine` of uint8 (B, C, H, W) images, stored back to uint8 like cv2."""
    return round_to_uint8(warp_affine(images, matrices, out_hw))


def downscale2(images: Tensor) -> Tensor:
    """uint8 (B, C, H, W) with even H, W -> (B, C, H/2, W/2): ``(2x2 sum + 2) >> 2`` (cv2 INTER_AREA / LINEAR)."""
    h, w = images.shape[-2:]
    if h % 2 or w % 2:
        raise ValueError(f"downscale2 needs even sizes, got {h}x{w}")
    block_sum = F.avg_pool2d(images.float(), 2, divisor_override=1)  # exact: integers below 2^24
    return torch.div(block_sum + 2, 4, rounding_mode="floor").to(torch.uint8)
