"""What the crop nodes share: detection over a batch with progress, cutting the crops, the preview."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np
import torch
from torch import Tensor

from ..liveportrait_core.faces import CropParams, CropTrack, FaceDetections, FaceDetector, NoFaceError, cut_crops
from ..liveportrait_core.faces.draw import draw_landmarks
from .comfy import ProgressBar, io, ui
from .images import check_image, from_uint8, to_uint8
from .payloads import FaceCrop

CHUNK = 16  # frames detected / cut at a time
PREVIEWS = 4  # crops shown on the node, landmarks drawn

Tracker = Callable[[list[FaceDetections]], CropTrack]


def geometry_inputs(params: CropParams, sideways: bool = True,
                    scale_tip: str = "Crop side / face size: larger shows more around the face") -> list[io.Float.Input]:
    """The crop-geometry widgets with ``params`` (official values) as defaults: scale, vx_ratio (when ``sideways``),
    vy_ratio."""
    inputs = [io.Float.Input("scale", default=params.scale, min=0.5, max=10.0, step=0.05,
                             tooltip=f"{scale_tip} (official {params.scale:g}).")]
    if sideways:
        inputs.append(io.Float.Input("vx_ratio", default=params.vx_ratio, min=-1.0, max=1.0, step=0.005,
                                     tooltip=f"Sideways shift of the crop, in crop sides (official {params.vx_ratio:g})."))
    inputs.append(io.Float.Input("vy_ratio", default=params.vy_ratio, min=-1.0, max=1.0, step=0.005,
                                 tooltip="Vertical shift of the crop, in crop sides; negative moves it up "
                                         f"(official {params.vy_ratio:g})."))
    return inputs


def detect(detector: FaceDetector, frames: Tensor) -> list[FaceDetections]:
    """Faces of every uint8 frame, with a per-frame progress bar (interrupts are honoured between chunks)."""
    bar, found = ProgressBar(frames.shape[0]), []
    for start in range(0, frames.shape[0], CHUNK):
        found += detector.detect(frames[start:start + CHUNK])
        bar.update_absolute(len(found))
    return found


def concat_tracks(tracks: list[CropTrack]) -> CropTrack:
    """One track of the tracks' frames in order."""
    tensors = [f.name for f in fields(CropTrack) if isinstance(getattr(tracks[0], f.name), Tensor)]
    return replace(tracks[0], **{name: torch.cat([getattr(t, name) for t in tracks]) for name in tensors})


def _preview(crops: Tensor, track: CropTrack) -> ui.PreviewImage:
    """The first crops that show a face, with their landmarks drawn where the crop has them (box crops do not)."""
    shown = [i for i in range(len(track)) if track.found[i]][:PREVIEWS]
    drawn = [draw_landmarks(crops[i].numpy(), track.landmarks_crop[i].numpy())
             if bool(torch.isfinite(track.landmarks[i]).all()) else crops[i].numpy() for i in shown]
    return ui.PreviewImage(from_uint8(torch.from_numpy(np.stack(drawn))))


def cropped(images: Tensor, frames: Tensor, track: CropTrack) -> io.NodeOutput:
    """The crop nodes' outputs for ``track`` over uint8 ``frames`` of IMAGE ``images``: crops, FaceCrop, preview."""
    crops = torch.cat([cut_crops(frames[s:s + CHUNK], track.select(slice(s, s + CHUNK))) for s in range(0, len(track), CHUNK)])
    crop = FaceCrop(track, height=images.shape[1], width=images.shape[2])
    return io.NodeOutput(from_uint8(crops), crop, ui=_preview(crops, track))


def crop_faces(node: str, detector: FaceDetector, images: Tensor, tracker: Tracker) -> io.NodeOutput:
    """Detect, track with ``tracker`` and cut: the node's outputs (crops IMAGE, FaceCrop) with a landmark preview."""
    check_image(images, f"{node}: input 'images'")
    frames = to_uint8(images)
    try:
        track = tracker(detect(detector, frames))
    except NoFaceError as err:
        raise NoFaceError(f"{node}: {err} (face detector {detector.name}; try a lower threshold or the other backend)") from None
    return cropped(images, frames, track)
