"""Stitching and eye/lip retargeting MLPs (S): small fully connected nets on flattened keypoints."""
from __future__ import annotations

from torch import Tensor, nn

# name -> (input width, hidden widths, output width), as in the official checkpoint.
MLP_SHAPES: dict[str, tuple[int, tuple[int, ...], int]] = {
    "stitching": (126, (128, 128, 64), 65),  # [x_s, x_d] -> 63 keypoint deltas + (tx, ty)
    "lip": (65, (128, 128, 64), 63),  # [x_s, (src lip, drv lip)] -> keypoint deltas
    "eye": (66, (256, 256, 128, 128, 64), 63),  # [x_s, (src L, src R, drv eye)] -> deltas
}


class RetargetingMLP(nn.Module):
    """Linear layers at ``mlp.0``, ``mlp.2``, ... with ReLU between them and none after the last."""

    def __init__(self, in_features: int, hidden: tuple[int, ...], out_features: int):
        super().__init__()
        widths = (in_features, *hidden, out_features)
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(widths) - 2:
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """(B, in_features) -> (B, out_features)."""
        return self.mlp(x)


class StitchingRetargeting(nn.Module):
    """The three MLPs of ``stitching_retargeting_module.pth`` as submodules ``stitching``, ``lip``, ``eye``."""

    def __init__(self):
        super().__init__()
        for name, (i, h, o) in MLP_SHAPES.items():
            self.add_module(name, RetargetingMLP(i, h, o))
