"""Following several faces through a video by position, so that face k stays face k.

Identities are numbered in the order they first appear: the faces of the first frame that has any,
largest first (so on a still image identity k is the detector's face index k), then faces that
appear later. In each frame, detections are matched to identities by the distance between box
centres, measured in face sizes, with an optimal one-to-one assignment (Hungarian). A lost face keeps
its last box and is picked up again when a detection comes back near it, however many frames later.
A detection that mostly overlaps a face already matched in the same frame is taken for a duplicate
(detectors sometimes report one face twice) and starts no identity.
"""
from __future__ import annotations

from typing import Sequence

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from .detector import DUPLICATE_IOU, FaceDetections, box_iou

MAX_SHIFT = 1.0  # a detection farther than this many face sizes from an identity's last box is not that face


def _centres_and_sizes(boxes: Tensor) -> tuple[Tensor, Tensor]:
    """(K, 4) ``[l, t, r, b]`` -> centres (K, 2) and sizes (K,) (square root of the box area), float64."""
    b = boxes.double()
    return (b[:, :2] + b[:, 2:]) / 2, ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).clamp_min(1e-12).sqrt()


def follow_faces(detections: Sequence[FaceDetections], count: int | None = None, max_shift: float = MAX_SHIFT) -> Tensor:
    """Which detection is which face in every frame.

    Args:
        detections: per frame, the faces found (largest first).
        count: follow at most this many faces (default: every face that shows up); detections that match no
            identity start a new one while there are fewer.
        max_shift: largest centre distance, in face sizes (of the identity's last box), that still matches.

    Returns:
        (N, K) long: per frame and identity the index into that frame's detections, −1 where the face is missing.
    """
    last: list[Tensor] = []  # per identity, its last box (float64)
    rows: list[list[int]] = []
    for det in detections:
        row = [-1] * len(last)
        boxes = det.boxes.double()
        if len(det) and last:
            known_c, known_s = _centres_and_sizes(torch.stack(last))
            cost = torch.cdist(known_c, _centres_and_sizes(boxes)[0]) / known_s[:, None]
            for i, j in zip(*linear_sum_assignment(cost.numpy())):
                if cost[i, j] <= max_shift:
                    row[i] = int(j)
        for j in range(len(det)):  # largest first, as detected
            taken = [k for k in row if k >= 0]
            if j in taken or (taken and bool(box_iou(boxes[j:j + 1], boxes[taken]).max() > DUPLICATE_IOU)):
                continue
            if count is not None and len(last) >= count:
                break
            row.append(j)
            last.append(boxes[j])
        for i, j in enumerate(row):
            if j >= 0:
                last[i] = boxes[j]
        rows.append(row)
    table = torch.full((len(rows), len(last)), -1, dtype=torch.long)
    for n, row in enumerate(rows):
        table[n, :len(row)] = torch.tensor(row, dtype=torch.long)
    return table


def face_detections(detections: Sequence[FaceDetections], assignment: Tensor, identity: int) -> list[FaceDetections]:
    """Per frame, the detections of one identity only (one face, or none where it is missing)."""
    if not 0 <= identity < assignment.shape[1]:
        raise ValueError(f"face {identity} requested but only {assignment.shape[1]} face(s) were found (0 is the largest)")
    column = assignment[:, identity].tolist()
    return [det.select([j]) if j >= 0 else det.select([]) for det, j in zip(detections, column)]
