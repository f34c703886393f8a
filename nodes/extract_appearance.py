"""Node: the source face's appearance features and its own motion."""
from __future__ import annotations

from torch import Tensor

from ..liveportrait_core.pipeline.engine import SourceState
from .comfy import io
from .images import check_image, network_input
from .models import LoadedModels
from .payloads import FaceCrop
from .sockets import CATEGORY, Crop, Models, Source


def extract_appearance(models: LoadedModels, image: Tensor, crop: FaceCrop | None = None) -> SourceState:
    """Features and keypoints of one source image (an IMAGE batch of one); eye / lip ratios from ``crop`` when it
    has landmarks (without, Retarget says which options need them)."""
    check_image(image, "Extract Appearance: input 'image'")
    if image.shape[0] != 1:
        raise ValueError(f"Extract Appearance animates one source image, but input 'image' holds {image.shape[0]}; "
                         "pick one with the 'Image From Batch' node")
    engine = models.ready()
    eye = lip = None
    if crop is not None:
        crop.check_frames("Extract Appearance", "image", image.shape[0])
    if crop is not None and crop.has_landmarks:
        eye, lip = crop.track.eye_ratio.to(engine.device), crop.track.lip_ratio.to(engine.device)
    return engine.source(network_input(image, engine.device), eye, lip)


class ExtractAppearance(io.ComfyNode):
    """Extract Appearance."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ExtractAppearance",
            display_name="Extract Appearance (LivePortrait)",
            category=CATEGORY,
            description="Runs the appearance-feature and motion extractors on the source portrait: what rendering "
                        "re-poses. Give it a face crop (Crop Faces, or a portrait framed like one); it is resized to "
                        "256x256.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("image", tooltip="The source portrait: one image, ideally a face crop."),
                Crop.Input("crop", optional=True,
                           tooltip="The crop output of Crop Faces for this image: gives the source's eye / lip open "
                                   "ratios, which eye / lip retargeting and lip normalisation need."),
            ],
            outputs=[Source.Output(display_name="source", tooltip="The source's feature volume and keypoints.")],
        )

    @classmethod
    def execute(cls, models: LoadedModels, image: Tensor, crop: FaceCrop | None = None) -> io.NodeOutput:
        return io.NodeOutput(extract_appearance(models, image, crop))
