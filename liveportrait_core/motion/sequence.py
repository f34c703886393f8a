"""The driving-motion container shared by extraction, templates, retargeting and rendering."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor


@dataclass
class MotionSequence:
    """Per-frame implicit-keypoint motion; every tensor has the frame count N as leading dim.

    Conventions follow the official code: keypoints are row vectors, ``R`` multiplies them
    from the right (``kp @ R``), ``t`` holds (tx, ty, tz) of which tz is never applied.
    """

    R: Tensor  # (N, 3, 3) head rotation
    exp: Tensor  # (N, 21, 3) expression deltas
    scale: Tensor  # (N, 1)
    t: Tensor  # (N, 3)
    kp: Tensor | None = None  # (N, 21, 3) canonical keypoints, when known
    x_s: Tensor | None = None  # (N, 21, 3) transformed keypoints, when known
    eye_ratio: Tensor | None = None  # (N, 2) eye open ratios (left, right), when known
    lip_ratio: Tensor | None = None  # (N, 1) lip open ratio, when known
    fps: float = 25.0

    def __len__(self) -> int:
        return int(self.R.shape[0])

    def tensors(self) -> dict[str, Tensor]:
        """The tensor fields that are present, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Tensor)}

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> "MotionSequence":
        """A copy on ``device``; floating tensors cast to ``dtype`` when given."""
        return replace(self, **{k: v.to(device=device, dtype=dtype if v.is_floating_point() else None) for k, v in self.tensors().items()})

    def select(self, index: slice | Tensor | list[int]) -> "MotionSequence":
        """Frames picked by a slice or an index list (keeps fps)."""
        return replace(self, **{k: v[index] for k, v in self.tensors().items()})
