"""Choosing a detector backend by name."""
from __future__ import annotations

from functools import partial

from .detector import BACKENDS, FaceDetector
from .detector_pool import DetectorPool
from .model_store import Folders


def create_detector(backend: str, models_dir: Folders, *, threshold: float | None = None, device: str = "auto",
                    download: bool = True, workers: int = 1) -> FaceDetector:
    """A ready detector: ``"mediapipe"`` (default, light, CPU) or ``"insightface"`` (the official stack).

    ``threshold``: minimum detection confidence (default: the backend's own, MediaPipe 0.5, insightface 0.1).
    ``device`` applies to insightface's onnxruntime sessions ("auto", "cuda", "cpu").
    Model files are looked for in ``models_dir`` (a folder, or several in order) and downloaded into the
    (first) folder when missing (unless ``download`` is False).
    ``workers`` > 1: a :class:`~.detector_pool.DetectorPool` detecting a batch's images on that many threads
    (:func:`~.detector_pool.default_workers` suggests a number).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown face detector {backend!r}; expected one of {', '.join(BACKENDS)}")
    factory = partial(_create_one, backend, models_dir, threshold, device, download)
    return factory() if workers == 1 else DetectorPool(factory, workers)


def _create_one(backend: str, models_dir: Folders, threshold: float | None, device: str, download: bool) -> FaceDetector:
    if backend == "mediapipe":
        from .mediapipe_detector import DEFAULT_CONFIDENCE, MediaPipeDetector

        return MediaPipeDetector(models_dir, min_confidence=DEFAULT_CONFIDENCE if threshold is None else threshold,
                                 download=download)
    from .insightface_detector import DEFAULT_THRESHOLD, InsightFaceDetector

    return InsightFaceDetector(models_dir, device=device, download=download,
                               threshold=DEFAULT_THRESHOLD if threshold is None else threshold)
