"""Where the face is, for Crop Face from Box: a MASK, Impact Pack SEGS, a BBOX list or a box typed in.

Every source gives boxes ``(x, y, w, h)`` in the images' pixels, one per image; errors say which input
was wrong and how (the node adds its name).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

Box = tuple[float, float, float, float]  # x, y, w, h in pixels
BBOX_FORMATS = ("xyxy", "xywh")
NO_BOX = ("mode is 'box' but no face box is given: connect a MASK of the face area to 'mask', a detector's SEGS to "
          "'segs' or a BBOX to 'bbox', or type the box into x, y, w, h (w and h above 0); or set mode to 'center'")


def connected(**inputs: Any) -> list[str]:
    """Names of the optional inputs that are connected (not None)."""
    return [name for name, value in inputs.items() if value is not None]


def mask_boxes(mask: Tensor, frames: int, hw: tuple[int, int]) -> list[Box]:
    """Per image, the bounding box of ``mask > 0.5`` (one mask serves every image), scaled to the ``(H, W)`` images."""
    mask = mask[None] if mask.ndim == 2 else mask
    if mask.ndim != 3 or mask.shape[0] not in (1, frames):
        raise ValueError(f"input 'mask' has shape {tuple(mask.shape)}; give one mask for all {frames} image(s) or "
                         "one per image")
    sy, sx = hw[0] / mask.shape[1], hw[1] / mask.shape[2]
    boxes = []
    for i, inside in enumerate(mask > 0.5):
        ys, xs = torch.nonzero(inside, as_tuple=True)
        if ys.numel() == 0:
            raise ValueError(f"mask {i} of input 'mask' has no pixel above 0.5; paint the face area white")
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        boxes.append((x0 * sx, y0 * sy, (x1 - x0) * sx, (y1 - y0) * sy))
    return boxes * frames if len(boxes) == 1 else boxes


def _pick(boxes: Sequence[Sequence[float]], index: int, name: str) -> Sequence[float]:
    """Box ``index`` of the boxes an input holds, with a clear error when there is none."""
    if not boxes:
        raise ValueError(f"input '{name}' holds no box (the detector found nothing?)")
    if not 0 <= index < len(boxes):
        raise ValueError(f"index is {index} but input '{name}' holds {len(boxes)} box(es) (0 is the first)")
    return boxes[index]


def _from_corners(box: Sequence[float]) -> Box:
    x1, y1, x2, y2 = box
    return x1, y1, x2 - x1, y2 - y1


def segs_box(segs: Any, index: int) -> Box:
    """Impact Pack SEGS ``(shape, [SEG, ...])``: the ``bbox`` ``[x1, y1, x2, y2]`` of detection ``index``."""
    try:
        boxes = [[float(v) for v in seg.bbox] for seg in segs[1]]
    except (TypeError, ValueError, AttributeError, IndexError):
        raise ValueError("input 'segs' is not Impact Pack SEGS, a pair (shape, [SEG with .bbox, ...])") from None
    box = _pick(boxes, index, "segs")
    if len(box) != 4:
        raise ValueError(f"detection {index} of input 'segs' has a bbox of {len(box)} numbers, expected x1, y1, x2, y2")
    return _from_corners(box)


def bbox_box(bbox: Any, index: int, fmt: str) -> Box:
    """BBOX: one box of four numbers or a list of them (box ``index``), read as ``fmt`` (xyxy or xywh)."""
    values = bbox.tolist() if hasattr(bbox, "tolist") else bbox
    try:
        single = len(values) == 4 and all(isinstance(v, (int, float)) for v in values)
        boxes = [[float(v) for v in b] for b in ([values] if single else values)]
    except (TypeError, ValueError):
        raise ValueError("input 'bbox' is not a box [x1, y1, x2, y2] or a list of such boxes") from None
    box = _pick(boxes, index, "bbox")
    if len(box) != 4:
        raise ValueError(f"box {index} of input 'bbox' has {len(box)} numbers, expected four")
    return _from_corners(box) if fmt == "xyxy" else (box[0], box[1], box[2], box[3])


def face_boxes(frames: int, hw: tuple[int, int], typed: Box, index: int, bbox_format: str, mask: Tensor | None = None,
               segs: Any = None, bbox: Any = None) -> list[Box]:
    """One face box per image: from the one connected input of mask, segs and bbox, else the typed box."""
    wired = connected(mask=mask, segs=segs, bbox=bbox)
    if len(wired) > 1:
        raise ValueError(f"inputs {' and '.join(repr(n) for n in wired)} are connected; connect only one of "
                         "'mask', 'segs' and 'bbox'")
    if mask is not None:
        return mask_boxes(mask, frames, hw)
    if segs is not None:
        return [segs_box(segs, index)] * frames
    if bbox is not None:
        return [bbox_box(bbox, index, bbox_format)] * frames
    if typed[2] <= 0 or typed[3] <= 0:
        raise ValueError(NO_BOX)
    return [typed] * frames
