"""Node: a source crop without a face detector, around a face box or the picture's centre (animals, missed faces)."""
from __future__ import annotations

from typing import Any

from torch import Tensor

from ..liveportrait_core.faces import SOURCE_CROP, CropParams, CropTrack
from ..liveportrait_core.faces.box_crop import track_center, track_face_box
from .choices import check_choices
from .comfy import io
from .cropping import concat_tracks, cropped, geometry_inputs
from .face_boxes import BBOX_FORMATS, Box, connected, face_boxes
from .images import check_image, to_uint8
from .sockets import CATEGORY, Crop

NODE = "Crop Face from Box"
MODES = ("box", "center")
Segs, BBox = io.Custom("SEGS"), io.Custom("BBOX")  # Impact Pack detections; boxes of other packs (Florence2, KJNodes)


def _box_track(boxes: list[Box], hw: tuple[int, int], params: CropParams) -> CropTrack:
    """Crop transforms around each image's box (one computation when every image has the same box)."""
    if len(set(boxes)) == 1:
        return track_face_box(boxes[0], hw, params, frames=len(boxes))
    return concat_tracks([track_face_box(box, hw, params) for box in boxes])


def _pixels(name: str, tooltip: str) -> io.Int.Input:
    return io.Int.Input(name, default=0, min=0, max=16384, tooltip=tooltip)


class CropFaceBox(io.ComfyNode):
    """Crop Face from Box."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_CropFaceBox",
            display_name="Crop Face from Box (LivePortrait)",
            category=CATEGORY,
            description="Cuts the 512x512 source crop around a face box instead of detected landmarks: for animals "
                        "(with the animals models) and faces a detector misses. The box comes from a mask, a "
                        "detector's SEGS or BBOX, or is typed in; the crop is sized and shifted like Crop Faces' "
                        "but not turned. Its outputs go where Crop Faces' go; there are no landmarks, so eye / lip "
                        "retargeting and lip normalisation are not available.",
            inputs=[
                io.Image.Input("images", tooltip="The source picture(s), uncropped."),
                io.Combo.Input("mode", options=list(MODES), default="box",
                               tooltip="box: crop around the face box; center: the largest centred square, for a "
                                       "picture that is mostly face (no box inputs then)."),
                _pixels("x", "Left edge of the typed face box, in pixels (used when no mask, segs or bbox is connected)."),
                _pixels("y", "Top edge of the typed face box, in pixels."),
                _pixels("w", "Width of the typed face box, in pixels (0: no typed box)."),
                _pixels("h", "Height of the typed face box, in pixels (0: no typed box)."),
                *geometry_inputs(SOURCE_CROP, scale_tip="Crop side / larger box side: larger shows more around the "
                                                        "face; 1 with vy_ratio 0 crops exactly the box's square"),
                io.Int.Input("index", default=0, min=0, max=999,
                             tooltip="Which detection of 'segs', or which box of a 'bbox' list (0 is the first)."),
                io.Combo.Input("bbox_format", options=list(BBOX_FORMATS), default="xyxy",
                               tooltip="How 'bbox' boxes are written: xyxy = left, top, right, bottom; xywh = left, "
                                       "top, width, height (KJNodes' BBOX)."),
                io.Mask.Input("mask", optional=True,
                              tooltip="The face area (white): the box is its bounding box; one mask for all images "
                                      "or one per image. Takes the place of the typed box."),
                Segs.Input("segs", optional=True,
                           tooltip="Detections of an Impact Pack detector (SEGS); 'index' picks one. Takes the place "
                                   "of the typed box."),
                BBox.Input("bbox", optional=True,
                           tooltip="A box or a list of boxes (BBOX, e.g. from Florence2); 'index' picks one of a "
                                   "list. Takes the place of the typed box."),
            ],
            outputs=[
                io.Image.Output(display_name="crops", tooltip="512x512 face crops, one per image, for Extract Appearance."),
                Crop.Output(display_name="crop", tooltip="Where each crop was cut from (no landmarks), for Extract "
                                                         "Appearance and Paste Back."),
            ],
        )

    @classmethod
    def validate_inputs(cls, mode: str, bbox_format: str) -> bool | str:
        return check_choices(cls, mode=mode, bbox_format=bbox_format)

    @classmethod
    def execute(cls, images: Tensor, mode: str, x: int, y: int, w: int, h: int, scale: float, vx_ratio: float,
                vy_ratio: float, index: int, bbox_format: str, mask: Tensor | None = None, segs: Any = None,
                bbox: Any = None) -> io.NodeOutput:
        check_image(images, f"{NODE}: input 'images'")
        hw, frames = (images.shape[1], images.shape[2]), images.shape[0]
        try:
            if mode == "center":
                wired = connected(mask=mask, segs=segs, bbox=bbox)
                if wired:
                    raise ValueError(f"mode is 'center', which crops the middle of the picture and ignores input(s) "
                                     f"{', '.join(repr(n) for n in wired)}; set mode to 'box' or disconnect them")
                track = track_center(hw, SOURCE_CROP.dsize, frames)
            else:
                boxes = face_boxes(frames, hw, (x, y, w, h), index, bbox_format, mask, segs, bbox)
                track = _box_track(boxes, hw, CropParams(scale=scale, vx_ratio=vx_ratio, vy_ratio=vy_ratio, rotate=False))
        except ValueError as err:
            raise ValueError(f"{NODE}: {err}") from None
        return cropped(images, to_uint8(images), track)
