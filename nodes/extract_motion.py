"""Node: driving motion from a batch of frames or one image."""
from __future__ import annotations

from torch import Tensor

from ..liveportrait_core.faces.crop_smoothing import fill_gaps
from .comfy import io
from .images import check_image, network_chunks
from .models import LoadedModels
from .payloads import DrivingMotion, FaceCrop
from .sockets import CATEGORY, Crop, Models, Motion

DEFAULT_FPS = 25.0  # the official output rate when nothing else sets one


def extract_motion(models: LoadedModels, images: Tensor, fps: float, crop: FaceCrop | None = None) -> DrivingMotion:
    """Per-frame head pose, expression, scale and translation of the driving frames (eye / lip ratios from ``crop``).

    A single image is an official "driving image": each output frame is measured against it alone.
    """
    check_image(images, "Extract Motion: input 'images'")
    if crop is not None:
        crop.check_frames("Extract Motion", "images", images.shape[0])
    engine = models.ready()
    sequence = engine.motion(network_chunks(images, engine.device), fps)
    if crop is not None and crop.has_landmarks:  # frames without a face take their neighbours' ratios
        sequence.eye_ratio = fill_gaps(crop.track.eye_ratio, crop.track.found).float().to(engine.device)
        sequence.lip_ratio = fill_gaps(crop.track.lip_ratio, crop.track.found).float().to(engine.device)
    return DrivingMotion(sequence, from_image=images.shape[0] == 1)


class ExtractMotion(io.ComfyNode):
    """Extract Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ExtractMotion",
            display_name="Extract Motion (LivePortrait)",
            category=CATEGORY,
            description="Runs the motion extractor on driving frames (a video's IMAGE batch, or one image) and "
                        "keeps only the small per-frame motion, so long clips cost little memory.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("images", tooltip="Driving frames, ideally face crops; one image drives like the official "
                                                 "driving-image mode."),
                io.Float.Input("fps", default=DEFAULT_FPS, min=0.01, max=1000.0, step=0.01,
                               tooltip="Frame rate of the driving frames; connect a video loader's fps."),
                Crop.Input("crop", optional=True,
                           tooltip="The crop output of Crop Driving Faces for these frames: gives the per-frame eye / "
                                   "lip open ratios that eye / lip retargeting need."),
            ],
            outputs=[
                Motion.Output(display_name="motion", tooltip="The driving motion sequence."),
                io.Float.Output(display_name="fps", tooltip="The driving frame rate, passed on."),
            ],
        )

    @classmethod
    def execute(cls, models: LoadedModels, images: Tensor, fps: float, crop: FaceCrop | None = None) -> io.NodeOutput:
        return io.NodeOutput(extract_motion(models, images, fps, crop), fps)
