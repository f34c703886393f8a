"""Node: the official source crop of the face(s) to animate, for Extract Appearance and Paste Back."""
from __future__ import annotations

from functools import partial

import torch
from torch import Tensor

from ..liveportrait_core.faces import (SOURCE_CROP, CropParams, CropTrack, FaceDetections, FaceDetector, NoFaceError,
                                       track_source_image)
from ..liveportrait_core.faces.crop import MISSING_FACE, MissingFace
from ..liveportrait_core.faces.face_tracks import face_tracks
from .choices import check_choices
from .comfy import io
from .cropping import concat_tracks, crop_faces, geometry_inputs
from .sockets import CATEGORY, Crop, Detector

FRAMES = ("images", "video")


def _track_images(detections: list[FaceDetections], params: CropParams, face: int) -> CropTrack:
    """Every image cropped on its own, as the official source-image crop."""
    return concat_tracks([track_source_image(d, params, face, f"image {i} of the batch") for i, d in enumerate(detections)])


def _track_video(detections: list[FaceDetections], params: CropParams, face: int, on_missing: MissingFace) -> CropTrack:
    """Video frames: face ``face`` followed through the frames by position, so that it stays the same person
    when faces move or change size (0 is the largest face of the first frame that shows faces)."""
    (track,) = face_tracks(detections, face, params, where="the video")
    missing = torch.nonzero(~track.found).flatten().tolist()
    if missing and on_missing == "fail":
        raise NoFaceError(f"face {face} is not found in frame {missing[0]} of the video; set on_missing_face to "
                          "'skip' to keep such frames as they are")
    return track


class CropFaces(io.ComfyNode):
    """Crop Faces."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_CropFaces",
            display_name="Crop Faces (LivePortrait)",
            category=CATEGORY,
            description="Finds the face in each image and cuts the official 512x512 source crop (eyes level, face "
                        "centred). Feed the crops to Extract Appearance and the crop to Paste Back, which puts the "
                        "animated face back into the original picture.",
            inputs=[
                Detector.Input("detector", tooltip="From Load Face Detector."),
                io.Image.Input("images", tooltip="The source portrait(s), uncropped."),
                io.Combo.Input("frames", options=list(FRAMES), default="images",
                               tooltip="images: crop every image on its own; video: the images are video frames, the face "
                                       "followed from frame to frame by position and its crop smoothed over time."),
                io.Int.Input("face", default=0, min=0, max=63,
                             tooltip="Which face: 0 is the largest, 1 the next ... In video mode the faces of the first "
                                     "frame that shows any, each then followed by position (face 1 stays face 1)."),
                *geometry_inputs(SOURCE_CROP),
                io.Boolean.Input("rotate", default=SOURCE_CROP.rotate,
                                 tooltip="Turn the crop with the face so the eyes are level (official: on)."),
                io.Combo.Input("on_missing_face", options=list(MISSING_FACE), default="fail",
                               tooltip="A video frame without a face: fail naming the frame, or skip it (cropped like "
                                       "its neighbours and left untouched by Paste Back). Images always need a face."),
            ],
            outputs=[
                io.Image.Output(display_name="crops", tooltip="512x512 face crops, one per image, for Extract Appearance."),
                Crop.Output(display_name="crop", tooltip="Where each crop was cut from, with landmarks, for Extract "
                                                         "Appearance (eye / lip ratios) and Paste Back."),
            ],
        )

    @classmethod
    def validate_inputs(cls, frames: str, on_missing_face: str) -> bool | str:
        return check_choices(cls, frames=frames, on_missing_face=on_missing_face)

    @classmethod
    def execute(cls, detector: FaceDetector, images: Tensor, frames: str, face: int, scale: float, vx_ratio: float,
                vy_ratio: float, rotate: bool, on_missing_face: str) -> io.NodeOutput:
        params = CropParams(scale=scale, vx_ratio=vx_ratio, vy_ratio=vy_ratio, rotate=rotate)
        tracker = (partial(_track_video, params=params, face=face, on_missing=on_missing_face)
                   if frames == "video" else partial(_track_images, params=params, face=face))
        return crop_faces("Crop Faces", detector, images, tracker)
