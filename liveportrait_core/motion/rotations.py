"""Rotation interpolation on the sphere of unit quaternions (slerp), batched.

Rotation matrices are interpolated along the geodesic between them, never entry by entry, so every
result is a proper rotation. The functions work for either keypoint convention (``kp @ R`` or
``R @ kp``): transposing both ends transposes the geodesic. Quaternions are (w, x, y, z) with w >= 0.
"""
from __future__ import annotations

import torch
from torch import Tensor

_SMALL_ANGLE = 1e-6  # below this half-angle (radians) slerp falls back to normalised linear interpolation


def matrix_to_quaternion(R: Tensor) -> Tensor:
    """Unit quaternions of rotation matrices (Shepperd's method: the best-conditioned of four formulas).

    Args:
        R: (..., 3, 3) rotation matrices (column-vector convention ``v' = R v``; see the module note).

    Returns:
        (..., 4) quaternions (w, x, y, z), w >= 0, in ``R``'s dtype.
    """
    if R.shape[-2:] != (3, 3):
        raise ValueError(f"rotation matrices must have shape (..., 3, 3), got {tuple(R.shape)}")
    m = R.double()
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    # 4w², 4x², 4y², 4z² (up to rounding); each column below is 4·q·q_k for the pivot q of that formula
    squares = torch.stack((1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22), -1)
    sx, sy, sz = m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]
    pxy, pxz, pyz = m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1]
    candidates = torch.stack(
        (
            torch.stack((squares[..., 0], sx, sy, sz), -1),
            torch.stack((sx, squares[..., 1], pxy, pxz), -1),
            torch.stack((sy, pxy, squares[..., 2], pyz), -1),
            torch.stack((sz, pxz, pyz, squares[..., 3]), -1),
        ),
        -2,
    )  # (..., 4 formulas, 4 components)
    best = squares.argmax(-1)
    q = torch.take_along_dim(candidates, best[..., None, None].expand(*best.shape, 1, 4), dim=-2)[..., 0, :]
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q).to(R.dtype)


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """Rotation matrices of quaternions (normalised first).

    Args:
        q: (..., 4) quaternions (w, x, y, z).

    Returns:
        (..., 3, 3) rotation matrices (column-vector convention), in ``q``'s dtype.
    """
    if q.shape[-1] != 4:
        raise ValueError(f"quaternions must have shape (..., 4), got {tuple(q.shape)}")
    w, x, y, z = (q / q.norm(dim=-1, keepdim=True)).unbind(-1)
    rows = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )
    return torch.stack([torch.stack(row, -1) for row in rows], -2)


def slerp(q0: Tensor, q1: Tensor, weight: Tensor) -> Tensor:
    """Spherical linear interpolation along the shorter arc; weights outside [0, 1] extrapolate.

    Args:
        q0, q1: (..., 4) unit quaternions (broadcast against each other).
        weight: (...) interpolation weights, 0 -> ``q0``, 1 -> ``q1``.

    Returns:
        (..., 4) unit quaternions.
    """
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    w = weight[..., None].to(q0.dtype)
    theta = torch.acos(dot)
    sin = torch.sin(theta)
    small = theta < _SMALL_ANGLE
    safe_sin = torch.where(small, torch.ones_like(sin), sin)
    a = torch.where(small, 1 - w, torch.sin((1 - w) * theta) / safe_sin)
    b = torch.where(small, w, torch.sin(w * theta) / safe_sin)
    q = a * q0 + b * q1
    return q / q.norm(dim=-1, keepdim=True)


def interpolate_rotations(R0: Tensor, R1: Tensor, weight: Tensor | float) -> Tensor:
    """Geodesic interpolation (and extrapolation) between rotation matrices.

    Computed in float64 through quaternions; weight 0 returns ``R0`` and weight 1 returns ``R1`` bit
    for bit. Weight k > 1 applies the relative rotation k times as far (``(R1 R0ᵀ)^k R0``).

    Args:
        R0, R1: (N, 3, 3) or (1, 3, 3) rotation matrices.
        weight: scalar or (N,) weights.

    Returns:
        (N, 3, 3) in the dtype of ``R0``.
    """
    n = max(R0.shape[0], R1.shape[0])
    R0, R1 = R0.expand(n, 3, 3), R1.expand(n, 3, 3)
    w = torch.as_tensor(weight, dtype=torch.float64, device=R0.device).expand(n)
    R = quaternion_to_matrix(slerp(matrix_to_quaternion(R0.double()), matrix_to_quaternion(R1.double()), w)).to(R0.dtype)
    R = torch.where((w == 0)[:, None, None], R0, R)
    return torch.where((w == 1)[:, None, None], R1.to(R0.dtype), R)


def rotation_angle(R: Tensor) -> Tensor:
    """Rotation angle in degrees, (N, 3, 3) -> (N,), from the quaternion (accurate near 0°)."""
    q = matrix_to_quaternion(R.double())
    return torch.rad2deg(2 * torch.atan2(q[..., 1:].norm(dim=-1), q[..., 0])).to(R.dtype)


def nearest_rotation(M: Tensor) -> Tensor:
    """The rotation closest to each 3x3 matrix in the Frobenius norm (SVD projection onto SO(3)).

    Args:
        M: (..., 3, 3) nearly orthonormal matrices, e.g. entry-wise smoothed rotations.

    Returns:
        (..., 3, 3) rotations in ``M``'s dtype.
    """
    U, _, Vh = torch.linalg.svd(M.double())
    d = torch.ones(*M.shape[:-1], dtype=torch.float64, device=M.device)
    d[..., 2] = torch.linalg.det(U @ Vh).sign()
    return ((U * d[..., None, :]) @ Vh).to(M.dtype)
