"""Node: put the rendered faces back into the pictures they were cropped from."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..liveportrait_core.faces import paste_back, paste_mask, warp_mask
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER, resized_crop_to_original
from ..liveportrait_core.motion.frame_policy import POLICIES, pair_frames
from .choices import check_choices
from .comfy import ProgressBar, io, model_management
from .images import check_image, from_uint8, to_uint8
from .payloads import FaceCrop
from .sockets import CATEGORY, Crop

CHUNK = 8  # output frames composited at a time


def _check_inputs(frames: Tensor, crop: FaceCrop, original: Tensor) -> None:
    """Clear errors for frames, crop and original that do not belong together.

    Frames may be of any square size: Render's, or resized on the way (an upscaler, a face restorer). A crop of
    one still picture fits any number of originals of its size (e.g. another Paste Back's frames, to paste a
    second face); a crop of several frames fits only those frames.
    """
    check_image(frames, "Paste Back: input 'frames'")
    check_image(original, "Paste Back: input 'original'")
    if len(crop) != 1:
        crop.check_frames("Paste Back", "original", original.shape[0])
    if tuple(original.shape[1:3]) != (crop.height, crop.width):
        raise ValueError(f"Paste Back: input 'original' is {original.shape[2]}x{original.shape[1]} but the crop was made "
                         f"on {crop.width}x{crop.height} pictures; connect the images that went into the crop node (or "
                         "the images of a Paste Back that pasted into them)")
    height, width = frames.shape[1:3]
    if height != width:
        side = crop.track.dsize
        raise ValueError(f"Paste Back: input 'frames' is {width}x{height}, but it must be square: Render's "
                         f"{side}x{side} frames, or those resized to any square size (an upscaler, a face restorer); "
                         "scale width and height by the same factor")


def user_masks(mask: Tensor | None, count: int, hw: tuple[int, int]) -> Tensor | None:
    """(1 or ``count``, H, W) floats in [0, 1]: the optional MASK input resized to the original's size."""
    if mask is None:
        return None
    mask = mask[None] if mask.ndim == 2 else mask
    if mask.ndim != 3 or mask.shape[0] == 0:
        raise ValueError(f"Paste Back: input 'mask' must be a MASK batch shaped (frames, height, width), got {tuple(mask.shape)}")
    if mask.shape[0] not in (1, count):
        raise ValueError(f"Paste Back: input 'mask' holds {mask.shape[0]} masks but input 'original' {count} frame(s); "
                         "give one mask for every frame, or one per frame of 'original'")
    mask = mask.float().cpu()
    if tuple(mask.shape[1:]) != hw:
        mask = F.interpolate(mask[:, None], size=hw, mode="bilinear", align_corners=False)[:, 0]
    return mask.clamp(0, 1)


def paste(frames: Tensor, crop: FaceCrop, original: Tensor, feather: float, policy: str,
          mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(L, H, W, 3) IMAGE: each rendered frame pasted into its original frame, paired up by ``policy``; and the
    (L, H, W) MASK each frame was pasted with (the feathered crop square times ``mask``; 0 where no face was found).

    Frames of another square size than the crop's are pasted over the same square: the map and the feathered
    mask are scaled to their size (``feather`` stays in crop pixels)."""
    _check_inputs(frames, crop, original)
    out_hw = (crop.height, crop.width)
    user = user_masks(mask, original.shape[0], out_hw)
    rendered, originals = pair_frames(frames.shape[0], original.shape[0], policy)
    side, dsize = frames.shape[1], crop.track.dsize
    crop_to_original = resized_crop_to_original(crop.track.crop_to_original, dsize, side)
    template = paste_mask(dsize, feather, size=side)
    one_crop = len(crop) == 1  # a still picture: one crop and one mask serve every frame
    still = warp_mask(template, crop_to_original, out_hw) if one_crop else None
    bar, images, masks = ProgressBar(len(rendered)), [], []
    for start in range(0, len(rendered), CHUNK):
        r, o = rendered[start:start + CHUNK], originals[start:start + CHUNK]
        rows = [0] * len(o) if one_crop else o
        to_original = crop_to_original[[0] if one_crop else o]
        pasted_mask = still if one_crop else warp_mask(template, to_original, out_hw)
        if user is not None:
            pasted_mask = pasted_mask * user[o if user.shape[0] > 1 else [0]]
        found = crop.track.found[rows]
        pasted = paste_back(frames[r].permute(0, 3, 1, 2), to_original, to_uint8(original[o]), pasted_mask, found)
        images.append(from_uint8(pasted))
        masks.append((pasted_mask.cpu() * found[:, None, None]).expand(len(r), *out_hw))
        bar.update_absolute(start + len(r))
    return torch.cat(images), torch.cat(masks).to(model_management.intermediate_device())


class PasteBack(io.ComfyNode):
    """Paste Back."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_PasteBack",
            display_name="Paste Back (LivePortrait)",
            category=CATEGORY,
            description="Blends each rendered face, of any square size (Render's 512x512, or upscaled or restored on "
                        "the way), back into the picture it was cropped from, with the official feathered mask (keep "
                        "Stitch on so the face lines up). A face upscaled to 1024x1024 or more stays sharp in a large "
                        "picture. One original picture serves every frame; "
                        "otherwise frame_policy decides how rendered and original frames are paired. For several faces, "
                        "chain one Paste Back per face, each pasting into the previous one's images.",
            inputs=[
                io.Image.Input("frames", tooltip="Rendered frames, from Render or LivePortrait Animate, or those "
                                                 "resized to any square size (an upscaler, a face restorer)."),
                Crop.Input("crop", tooltip="The crop output of Crop Faces that made the source crop."),
                io.Image.Input("original", tooltip="The pictures that went into Crop Faces. For a still picture also "
                                                   "any frames of its size: to animate a second face, crop it from the "
                                                   "picture and connect the first Paste Back's images here."),
                io.Float.Input("feather", default=DEFAULT_FEATHER, min=0.0, max=256.0, step=1.0,
                               tooltip="Width of the mask's soft edge, in pixels of the 512 crop (official 16; 0 = hard "
                                       "edge); it scales with frames of another size."),
                io.Combo.Input("frame_policy", options=list(POLICIES), default="shortest",
                               tooltip="When rendered and original frame counts differ (and neither is 1): stop at "
                                       "the shorter, or extend the shorter by looping, ping-pong or holding its last frame."),
                io.Mask.Input("mask", optional=True,
                              tooltip="Where the face may be pasted (1) and where the original stays (0), multiplied "
                                      "into the feathered square: one mask, or one per frame of 'original'; resized "
                                      "to the original's size."),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="The original pictures with the animated face."),
                io.Mask.Output(display_name="mask", tooltip="Where each output frame took the animated face (0 to 1; "
                                                            "0 everywhere in frames where the face was not found)."),
            ],
        )

    @classmethod
    def validate_inputs(cls, frame_policy: str) -> bool | str:
        return check_choices(cls, frame_policy=frame_policy)

    @classmethod
    def execute(cls, frames: Tensor, crop: FaceCrop, original: Tensor, feather: float, frame_policy: str,
                mask: Tensor | None = None) -> io.NodeOutput:
        return io.NodeOutput(*paste(frames, crop, original, feather, frame_policy, mask))
