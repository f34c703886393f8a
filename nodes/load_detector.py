"""Node: load a face detector (landmarks for cropping, eye / lip ratios and paste-back)."""
from __future__ import annotations

from ..liveportrait_core.faces import BACKENDS, create_detector, default_workers
from .choices import check_choices
from .comfy import io, model_management
from .folders import WEIGHTS, detector_folders
from .sockets import CATEGORY, Detector


class LoadFaceDetector(io.ComfyNode):
    """Load Face Detector."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LoadFaceDetector",
            display_name="Load Face Detector (LivePortrait)",
            category=CATEGORY,
            description=f"Loads a face detector with 203-point landmarks from models/{WEIGHTS}/ (downloading its files "
                        "there when allowed): MediaPipe (light, CPU) or insightface (the official SCRFD + landmark stack; "
                        "buffalo_l is also found in models/insightface/).",
            inputs=[
                io.Combo.Input("backend", options=list(BACKENDS), default="mediapipe",
                               tooltip="mediapipe: light and fast on CPU; insightface: the official detector stack "
                                       "(onnxruntime, GPU when available)."),
                io.Float.Input("threshold", default=0.0, min=0.0, max=1.0, step=0.01,
                               tooltip="Minimum detection confidence; 0 uses the backend's default (MediaPipe 0.5, "
                                       "insightface 0.1)."),
                io.Boolean.Input("download", default=True,
                                 tooltip="Fetch missing detector files; off (or offline) a missing file is an error "
                                         "naming the folder and files."),
            ],
            outputs=[Detector.Output(display_name="detector", tooltip="For Crop Faces and Crop Driving Faces.")],
        )

    @classmethod
    def validate_inputs(cls, backend: str) -> bool | str:
        return check_choices(cls, backend=backend)

    @classmethod
    def execute(cls, backend: str, threshold: float, download: bool) -> io.NodeOutput:
        device = "cuda" if model_management.get_torch_device().type == "cuda" else "cpu"
        detector = create_detector(backend, detector_folders(backend), threshold=threshold or None, device=device,
                                   download=download, workers=default_workers(backend))
        return io.NodeOutput(detector)
