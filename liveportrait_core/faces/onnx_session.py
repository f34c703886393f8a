"""onnxruntime sessions on the best available execution provider (CUDA when present, else CPU)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

ONNX_DEVICES = ("auto", "cuda", "cpu")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(f"the 'insightface' face detector cannot import onnxruntime ({err}); install onnxruntime "
                          "(or onnxruntime-gpu for CUDA), or choose the 'mediapipe' detector") from err
    return onnxruntime


def choose_providers(device: str = "auto") -> list[str]:
    """Execution providers for ``device``: "auto" takes CUDA when onnxruntime offers it, "cuda" insists on it."""
    if device not in ONNX_DEVICES:
        raise ValueError(f"device must be one of {ONNX_DEVICES}, got {device!r}")
    available = _onnxruntime().get_available_providers()
    if device != "cpu" and CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise ValueError(f"device 'cuda' requested but onnxruntime offers only {available} "
                         "(install onnxruntime-gpu matching your CUDA)")
    return [CPU]


class OnnxModel:
    """One ONNX model: its session, first input's name and shape, output names in model order."""

    def __init__(self, path: str | Path, device: str = "auto"):
        ort = _onnxruntime()
        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(path), providers=choose_providers(device))
        except Exception as err:  # onnxruntime raises its own exception types for unreadable models
            raise ValueError(f"cannot load ONNX model {path}: {err}") from err
        first = self.session.get_inputs()[0]
        self.input_name, self.input_shape = first.name, first.shape
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        """Run float32 (B, ...) inputs; a model with a fixed batch of 1 runs item by item (outputs concatenated)."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self.input_shape[0] != 1 or batch.shape[0] == 1:
            return self.session.run(self.output_names, {self.input_name: batch})
        parts = [self.session.run(self.output_names, {self.input_name: item[None]}) for item in batch]
        return [np.concatenate(outs) for outs in zip(*parts)]
