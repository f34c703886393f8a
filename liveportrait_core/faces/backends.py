"""Choosing a detector backend by name."""
from __future__ import annotations

from pathlib import Path

from .detector import BACKENDS, FaceDetector


def create_detector(backend: str, models_dir: str | Path, *, threshold: float | None = None, device: str = "auto",
                    download: bool = True) -> FaceDetector:
    """A ready detector: ``"mediapipe"`` (default, light, CPU) or ``"insightface"`` (the official stack).

    ``threshold``: minimum detection confidence (default: the backend's own, MediaPipe 0.5, insightface 0.1).
    ``device`` applies to insightface's onnxruntime sessions ("auto", "cuda", "cpu").
    Model files live in ``models_dir`` and are downloaded there when missing (unless ``download`` is False).
    """
    if backend == "mediapipe":
        from .mediapipe_detector import DEFAULT_CONFIDENCE, MediaPipeDetector

        return MediaPipeDetector(models_dir, min_confidence=DEFAULT_CONFIDENCE if threshold is None else threshold,
                                 download=download)
    if backend == "insightface":
        from .insightface_detector import DEFAULT_THRESHOLD, InsightFaceDetector

        return InsightFaceDetector(models_dir, device=device, download=download,
                                   threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
    raise ValueError(f"unknown face detector {backend!r}; expected one of {', '.join(BACKENDS)}")
