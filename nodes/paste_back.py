"""Node: put the rendered faces back into the pictures they were cropped from."""
from __future__ import annotations

import torch
from torch import Tensor

from ..liveportrait_core.faces import paste_back, paste_mask, warp_mask
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from .choices import check_choices
from .comfy import ProgressBar, io
from ..liveportrait_core.frame_policy import POLICIES, pair_frames
from .images import check_image, from_uint8, to_uint8
from .payloads import FaceCrop
from .sockets import CATEGORY, Crop

CHUNK = 8  # output frames composited at a time


def paste(frames: Tensor, crop: FaceCrop, original: Tensor, feather: float, policy: str) -> Tensor:
    """(L, H, W, 3) IMAGE: each rendered frame pasted into its original frame, paired up by ``policy``."""
    check_image(frames, "Paste Back: input 'frames'")
    check_image(original, "Paste Back: input 'original'")
    crop.check_frames("Paste Back", "original", original.shape[0])
    if tuple(original.shape[1:3]) != (crop.height, crop.width):
        raise ValueError(f"Paste Back: input 'original' is {original.shape[2]}x{original.shape[1]} but the crop was made "
                         f"on {crop.width}x{crop.height} pictures; connect the images that went into Crop Faces")
    if tuple(frames.shape[1:3]) != (crop.track.dsize, crop.track.dsize):
        raise ValueError(f"Paste Back: input 'frames' is {frames.shape[2]}x{frames.shape[1]}, but the crop is "
                         f"{crop.track.dsize}x{crop.track.dsize}; connect Render's frames")
    rendered, originals = pair_frames(frames.shape[0], original.shape[0], policy)
    template = paste_mask(crop.track.dsize, feather)
    out_hw = (crop.height, crop.width)
    one_crop = len(crop) == 1  # a still picture: one mask serves every frame
    masks = warp_mask(template, crop.track.crop_to_original, out_hw) if one_crop else None
    bar, parts = ProgressBar(len(rendered)), []
    for start in range(0, len(rendered), CHUNK):
        r, o = rendered[start:start + CHUNK], originals[start:start + CHUNK]
        to_original = crop.track.crop_to_original[[0] if one_crop else o]
        mask = masks if one_crop else warp_mask(template, to_original, out_hw)
        pasted = paste_back(frames[r].permute(0, 3, 1, 2), to_original, to_uint8(original[o]), mask, crop.track.found[o])
        parts.append(from_uint8(pasted))
        bar.update_absolute(start + len(r))
    return torch.cat(parts)


class PasteBack(io.ComfyNode):
    """Paste Back."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_PasteBack",
            display_name="Paste Back (LivePortrait)",
            category=CATEGORY,
            description="Blends each rendered 512x512 face back into the picture it was cropped from, with the official "
                        "feathered mask (keep Stitch on so the face lines up). One original picture serves every frame; "
                        "otherwise frame_policy decides how rendered and original frames are paired.",
            inputs=[
                io.Image.Input("frames", tooltip="Rendered frames, from Render or LivePortrait Animate."),
                Crop.Input("crop", tooltip="The crop output of Crop Faces that made the source crop."),
                io.Image.Input("original", tooltip="The pictures that went into Crop Faces."),
                io.Float.Input("feather", default=DEFAULT_FEATHER, min=0.0, max=256.0, step=1.0,
                               tooltip="Width of the mask's soft edge, in crop pixels (official 16; 0 = hard edge)."),
                io.Combo.Input("frame_policy", options=list(POLICIES), default="shortest",
                               tooltip="When rendered and original frame counts differ (and neither is 1): stop at "
                                       "the shorter, or extend the shorter by looping, ping-pong or holding its last frame."),
            ],
            outputs=[io.Image.Output(display_name="images", tooltip="The original pictures with the animated face.")],
        )

    @classmethod
    def validate_inputs(cls, frame_policy: str) -> bool | str:
        return check_choices(cls, frame_policy=frame_policy)

    @classmethod
    def execute(cls, frames: Tensor, crop: FaceCrop, original: Tensor, feather: float, frame_policy: str) -> io.NodeOutput:
        return io.NodeOutput(paste(frames, crop, original, feather, frame_policy))
