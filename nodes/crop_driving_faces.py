"""Node: the official auto-crop of driving frames that are not face crops yet."""
from __future__ import annotations

from functools import partial

from torch import Tensor

from ..liveportrait_core.faces import DRIVING_CROP, CropParams, FaceDetector, track_driving_frames
from ..liveportrait_core.faces.crop import MISSING_FACE
from ..liveportrait_core.faces.driving_crop import DRIVING_MODES
from .choices import check_choices
from .comfy import io
from .cropping import crop_faces, geometry_inputs
from .sockets import CATEGORY, Crop, Detector


class CropDrivingFaces(io.ComfyNode):
    """Crop Driving Faces."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_CropDrivingFaces",
            display_name="Crop Driving Faces (LivePortrait)",
            category=CATEGORY,
            description="Cuts the face out of driving frames that show more than a face (the official driving-video "
                        "auto-crop), for Extract Motion. Its crop output also gives Extract Motion the per-frame eye / "
                        "lip ratios that eye and lip retargeting need.",
            inputs=[
                Detector.Input("detector", tooltip="From Load Face Detector."),
                io.Image.Input("images", tooltip="Driving video frames (or one driving image), uncropped."),
                io.Combo.Input("box", options=list(DRIVING_MODES), default="average",
                               tooltip="average: one crop box for the whole clip (official); smooth: follow the face "
                                       "with a box smoothed over time."),
                io.Int.Input("face", default=0, min=0, max=63, tooltip="Which face: 0 is the largest, 1 the next ..."),
                *geometry_inputs(DRIVING_CROP, sideways=False),
                io.Combo.Input("on_missing_face", options=list(MISSING_FACE), default="fail",
                               tooltip="A frame without a face: fail naming the frame, or skip it (cropped like its "
                                       "neighbours)."),
            ],
            outputs=[
                io.Image.Output(display_name="crops", tooltip="512x512 driving face crops, for Extract Motion."),
                Crop.Output(display_name="crop", tooltip="Where each crop was cut from, with landmarks: connect it to "
                                                         "Extract Motion for eye / lip retargeting."),
            ],
        )

    @classmethod
    def validate_inputs(cls, box: str, on_missing_face: str) -> bool | str:
        return check_choices(cls, box=box, on_missing_face=on_missing_face)

    @classmethod
    def execute(cls, detector: FaceDetector, images: Tensor, box: str, face: int, scale: float, vy_ratio: float,
                on_missing_face: str) -> io.NodeOutput:
        params = CropParams(scale=scale, vy_ratio=vy_ratio, rotate=False)
        tracker = partial(track_driving_frames, params=params, mode=box, face=face, on_missing=on_missing_face)
        return crop_faces("Crop Driving Faces", detector, images, tracker)
