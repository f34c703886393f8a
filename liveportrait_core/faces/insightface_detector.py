"""The official face stack through onnxruntime: SCRFD (``det_10g``) + ``2d106det``, refined by LivePortrait's
203-point ``landmark.onnx`` (what the official ``Cropper`` runs).

Files (hub repo ``KwaiVGI/LivePortrait``, downloaded into the caller's first folder on first use):
``insightface/models/buffalo_l/det_10g.onnx``, ``insightface/models/buffalo_l/2d106det.onnx``,
``liveportrait/landmark.onnx``. The buffalo_l files are also found in an insightface root
(``models/buffalo_l/`` or ``buffalo_l/`` in a searched folder), where other face packs keep them.

Steps per image, as the official code (``FaceAnalysisDIY.get`` with ``det_size=(512, 512)``,
``Landmark.get``, ``LandmarkRunner.run``):

1. SCRFD: the image is resized (bilinear) to fit 512x512 keeping its aspect, placed top-left on a
   black canvas, fed as ``(RGB − 127.5) / 128``; outputs at strides 8/16/32 (2 anchors per cell) are
   scores, box distances and 5 keypoints, all ``× stride`` from the anchor centres; faces with score
   >= the threshold (official 0.1) survive NMS at IoU 0.4 (``+1`` pixel areas). Largest box first.
2. 2d106det: a 192x192 axis-aligned crop about the box centre, side 1.5·max(w, h), raw RGB 0–255;
   output (212,) -> 106 points ``(p + 1) · 96`` mapped back.
3. landmark.onnx: the 224 crop of the 106 points (scale 1.5, vy −0.1, rotated), RGB / 255; its
   third output holds 203 (x, y) in [0, 1] of the crop, ``· 224`` mapped back.

The official source-image crop is computed from the 106 points (``crop_points``); the 203 points
serve the ratios and the video / driving crops.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .crop_geometry import LANDMARK_RUNNER_CROP, crop_matrix, invert_affine, transform_points
from .detector import FaceDetections
from .images import as_uint8_images
from .landmark_layout import LP_POINTS
from .model_store import Folders, ModelFile, ensure_model_files
from .onnx_session import OnnxModel
from .warp import round_to_uint8, warp_affine_uint8


def _buffalo_l(name: str) -> ModelFile:
    """A buffalo_l file: the hub's path, plus where an insightface root (ComfyUI's ``models/insightface/``) keeps it:
    ``models/buffalo_l/`` (the insightface library's own layout) or ``buffalo_l/`` (what face packs tell users)."""
    return ModelFile(f"insightface/models/buffalo_l/{name}", also=(f"models/buffalo_l/{name}", f"buffalo_l/{name}"))


DETECTOR = _buffalo_l("det_10g.onnx")
LANDMARKS_106 = _buffalo_l("2d106det.onnx")
LANDMARKS_203 = ModelFile("liveportrait/landmark.onnx")
MODEL_FILES = (DETECTOR, LANDMARKS_106, LANDMARKS_203)
DEFAULT_THRESHOLD = 0.1  # official CropConfig.det_thresh
DET_SIZE = 512  # official det_size
NMS_IOU = 0.4
STRIDES = (8, 16, 32)
ANCHORS_PER_CELL = 2
SIZE_106 = 192


class InsightFaceDetector:
    """The official detector stack behind the :class:`~.detector.FaceDetector` interface.

    ``device``: "auto" (CUDA execution provider when onnxruntime has it), "cuda" or "cpu".
    """

    name = "insightface"

    def __init__(self, models_dir: Folders, device: str = "auto", threshold: float = DEFAULT_THRESHOLD,
                 download: bool = True, det_size: int = DET_SIZE):
        det, lmk106, lmk203 = ensure_model_files(self.name, models_dir, MODEL_FILES, download)
        self.detector, self.landmarks_106, self.landmarks_203 = (OnnxModel(p, device) for p in (det, lmk106, lmk203))
        if len(self.detector.output_names) not in (6, 9):
            raise ValueError(f"{det}: expected an SCRFD model with 9 outputs (scores, boxes, keypoints at strides "
                             f"8/16/32), got {len(self.detector.output_names)}")
        if len(self.landmarks_203.output_names) < 3:
            raise ValueError(f"{lmk203}: expected LivePortrait's landmark model (203 points in its third output), "
                             f"got {len(self.landmarks_203.output_names)} output(s)")
        self.threshold, self.det_size = threshold, det_size

    @property
    def providers(self) -> list[str]:
        return self.detector.providers

    def detect(self, images: Sequence[np.ndarray] | np.ndarray | Tensor) -> list[FaceDetections]:
        """uint8 RGB images -> one :class:`FaceDetections` per image, largest face first."""
        return [self._detect_one(torch.from_numpy(img)) for img in as_uint8_images(images)]

    def _detect_one(self, rgb: Tensor) -> FaceDetections:
        boxes, scores = self._boxes(rgb)
        if boxes.shape[0] == 0:
            return FaceDetections.empty(106)
        image = rgb.permute(2, 0, 1)[None]  # (1, 3, H, W) uint8
        pts106 = self._points_106(image, boxes)
        pts203 = self._points_203(image, pts106)
        return FaceDetections(boxes.float(), scores.float(), pts203.float(), pts106.float()).largest_first()

    def _boxes(self, rgb: Tensor) -> tuple[Tensor, Tensor]:
        """(K, 4) float64 boxes and (K,) scores of the faces above the threshold, after NMS."""
        h, w = rgb.shape[:2]
        size = self.det_size
        new_h, new_w = (size, max(1, int(size * w / h))) if h > w else (max(1, int(size * h / w)), size)
        scale = new_h / h
        resized = F.interpolate(rgb.permute(2, 0, 1)[None].float(), size=(new_h, new_w), mode="bilinear",
                                align_corners=False)
        canvas = torch.zeros(1, 3, size, size)
        canvas[..., :new_h, :new_w] = round_to_uint8(resized).float()
        outputs = self.detector(((canvas - 127.5) / 128).numpy())
        scores, boxes = decode_scrfd(outputs, size, size, self.threshold)
        keep = nms(boxes, scores, NMS_IOU)
        return torch.from_numpy(boxes[keep] / scale), torch.from_numpy(scores[keep])

    def _points_106(self, image: Tensor, boxes: Tensor) -> Tensor:
        """(K, 106, 2) float64 points from the axis-aligned 192 crops about each box."""
        center = (boxes[:, :2] + boxes[:, 2:]) / 2
        s = SIZE_106 / ((boxes[:, 2:] - boxes[:, :2]).max(dim=1).values * 1.5)
        m = torch.zeros(boxes.shape[0], 3, 3, dtype=torch.float64)
        m[:, 0, 0] = m[:, 1, 1] = s
        m[:, :2, 2] = SIZE_106 / 2 - s[:, None] * center
        m[:, 2, 2] = 1
        crops = warp_affine_uint8(image.expand(boxes.shape[0], -1, -1, -1), m, (SIZE_106, SIZE_106))
        (pred,) = self.landmarks_106(crops.float().numpy())[:1]
        pts = torch.from_numpy(pred.astype(np.float64)).reshape(boxes.shape[0], -1, 2)[:, -106:]
        return transform_points((pts + 1) * (SIZE_106 // 2), invert_affine(m))

    def _points_203(self, image: Tensor, pts106: Tensor) -> Tensor:
        """(K, 203, 2) float64 points of LivePortrait's landmark model on the 224 crops of the 106 points."""
        m = crop_matrix(pts106, LANDMARK_RUNNER_CROP)
        d = LANDMARK_RUNNER_CROP.dsize
        crops = warp_affine_uint8(image.expand(pts106.shape[0], -1, -1, -1), m, (d, d))
        outputs = self.landmarks_203((crops.float() / 255).numpy())
        pts = torch.from_numpy(outputs[2].astype(np.float64)).reshape(pts106.shape[0], -1, 2)
        if pts.shape[1] != LP_POINTS:
            raise ValueError(f"{self.landmarks_203.path}: third output holds {pts.shape[1]} points, expected {LP_POINTS}")
        return transform_points(pts * d, invert_affine(m))

    def close(self) -> None:
        """Nothing to release explicitly (sessions are freed with the object)."""

    def __enter__(self) -> "InsightFaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def anchor_centres(height: int, width: int, stride: int) -> np.ndarray:
    """(height·width·2, 2) float32 anchor centres ``(x, y)·stride``, x fastest, each repeated per anchor."""
    ys, xs = np.mgrid[:height, :width]
    centres = (np.stack((xs, ys), axis=-1).reshape(-1, 2) * stride).astype(np.float32)
    return np.repeat(centres, ANCHORS_PER_CELL, axis=0)


def decode_scrfd(outputs: list[np.ndarray], height: int, width: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """SCRFD outputs (scores, box distances[, keypoints] per stride) -> scores (K,) and boxes (K, 4) above
    ``threshold``, in input pixels, sorted by score (highest first)."""
    n = len(STRIDES)
    scores, boxes = [], []
    for i, stride in enumerate(STRIDES):
        centres = anchor_centres(height // stride, width // stride, stride)
        score = outputs[i].reshape(-1)
        dist = outputs[i + n].reshape(-1, 4) * stride
        if score.shape[0] != centres.shape[0]:
            raise ValueError(f"SCRFD output {i} has {score.shape[0]} scores, expected {centres.shape[0]} "
                             f"for a {width}x{height} input at stride {stride}")
        keep = score >= threshold
        scores.append(score[keep])
        boxes.append(np.concatenate((centres[keep] - dist[keep, :2], centres[keep] + dist[keep, 2:]), axis=1))
    scores_all, boxes_all = np.concatenate(scores), np.concatenate(boxes)
    order = np.argsort(-scores_all, kind="stable")
    return scores_all[order].astype(np.float64), boxes_all[order].astype(np.float64)


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (insightface's, with ``+1`` pixel areas)."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = w * h / (areas[i] + areas[rest] - w * h)
        order = rest[overlap <= iou]
    return np.array(keep, dtype=np.int64)
