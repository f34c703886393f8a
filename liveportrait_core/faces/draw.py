"""Drawing landmarks on crops (the ``crop`` command's picture and the contact sheet)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .landmark_layout import EYE_MOUTH_INDICES

_READ_POINTS = {i for group in EYE_MOUTH_INDICES[203] for i in group} | {90, 102}  # crop and ratio points


def draw_landmarks(image: np.ndarray, points: np.ndarray, radius: float = 2.0) -> np.ndarray:
    """uint8 (H, W, 3) copy of ``image`` with (203, 2) landmarks drawn: green dots, the points the crop
    and the eye / lip ratios read in red, and the eye-centre line (the crop's level) in yellow."""
    out = Image.fromarray(np.ascontiguousarray(image))
    pen = ImageDraw.Draw(out)
    left, right = points[[0, 6, 12, 18]].mean(0), points[[24, 30, 36, 42]].mean(0)
    pen.line([tuple(left), tuple(right)], fill=(255, 220, 0), width=1)
    for i, (x, y) in enumerate(points):
        r, colour = (radius * 1.5, (255, 40, 40)) if i in _READ_POINTS else (radius, (40, 230, 40))
        pen.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return np.asarray(out)
