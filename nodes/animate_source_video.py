"""Node: video-to-video, the official source-video path: a driving motion transferred onto the face in each
frame of a source video (its own pose kept), and/or expression sliders editing each frame from its own motion,
pasted back into the frames chunk by chunk."""
from __future__ import annotations

from dataclasses import replace

import torch
from torch import Tensor

from ..liveportrait_core.editing.sliders import ExpressionSliders
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from ..liveportrait_core.motion.frame_policy import POLICIES
from ..liveportrait_core.pipeline.animation import Animation, frame_ranges, plan_animation
from ..liveportrait_core.pipeline.face_keypoints import FaceDriving
from ..liveportrait_core.pipeline.source_frames import SourceFrames
from ..liveportrait_core.pipeline.video_to_video import SourceVideoOptions
from .choices import check_choices
from .comfy import io, model_management
from .images import check_image, from_uint8, to_uint8
from .models import LoadedModels
from .payloads import DrivingMotion, FaceCrop
from .render import chunk_input, progress_hook
from .retarget import driving_options, option_inputs
from .sockets import CATEGORY, Crop, Expression, Models, Motion

NODE = "Animate Source Video"


def source_video_inputs() -> list[io.Input]:
    """The options of the official source-video path (official CLI defaults)."""
    return [
        io.Float.Input("smooth_variance", default=SourceVideoOptions.smooth_variance, min=1e-9, max=1e-2, step=1e-8,
                       tooltip="Kalman smoothing of the transferred motion over the frames (official 3e-7); larger is "
                               "smoother and follows the driving less. Only with a motion."),
        io.Boolean.Input("eye_hold", default=False,
                         tooltip="Keep every frame's eye opening at the first frame's (official source-video eye "
                                 "retargeting); only with a motion, and eye and lip retargeting off."),
        io.Combo.Input("frame_policy", options=list(POLICIES), default="shortest",
                       tooltip="When source and driving frame counts differ: stop at the shorter (official), or run "
                               "to the longer, extending the shorter by looping, ping-pong or holding its last frame."),
    ]


def _check(images: Tensor, crop: FaceCrop, motion: DrivingMotion | None, expression: ExpressionSliders | None,
           eye_or_lip: bool) -> None:
    """Clear errors for inputs that do not fit together."""
    if motion is None and expression is None:
        raise ValueError(f"{NODE}: connect a motion (to drive the face), an expression (to edit it with sliders), "
                         "or both")
    check_image(images, f"{NODE}: input 'images'")
    crop.check_frames(NODE, "images", images.shape[0])
    if tuple(images.shape[1:3]) != (crop.height, crop.width):
        raise ValueError(f"{NODE}: input 'images' is {images.shape[2]}x{images.shape[1]} but the crop was made on "
                         f"{crop.width}x{crop.height} frames; connect the frames that went into Crop Faces")
    if motion is None:
        return
    if eye_or_lip and motion.sequence.eye_ratio is None:
        raise ValueError(f"{NODE}: eye / lip retargeting needs eye and lip open ratios for every driving frame, and "
                         "input 'motion' has none; connect Crop Driving Faces' crop to Extract Motion, or turn the "
                         "options off")


def plan(models: LoadedModels, images: Tensor, crop: FaceCrop, motion: DrivingMotion | None,
         expression: ExpressionSliders | None, stitching: bool, smooth_variance: float, eye_hold: bool,
         frame_policy: str, **options) -> Animation:
    """The face's own motion in every source frame, the output timeline, and its driven and/or edited keypoints."""
    core_options = replace(driving_options(**options), stitching=stitching)
    _check(images, crop, motion, expression, core_options.eye_retargeting or core_options.lip_retargeting)
    engine = models.ready()
    frames = SourceFrames.in_memory(to_uint8(images).cpu().numpy(), "input 'images'")
    driving = FaceDriving(None if motion is None else motion.sequence, motion is not None and motion.from_image,
                          core_options, expression, None if motion is None else motion.anchor)
    try:
        return plan_animation(engine, frames, [crop.track], [driving], policy=frame_policy,
                              video=SourceVideoOptions(smooth_variance, eye_hold))
    except ValueError as err:
        raise ValueError(f"{NODE}: {err}") from None


def render(animation: Animation, feather: float, chunk_size: int) -> tuple[Tensor, Tensor]:
    """(L, H, W, 3) IMAGE of the pasted-back frames and their (L, H, W) MASK, chunk by chunk."""
    total, (height, width) = len(animation), animation.frames.size
    device = model_management.intermediate_device()
    images = torch.empty((total, height, width, 3), device=device)
    masks = torch.empty((total, height, width), device=device)
    for chunk in animation.render(chunk_size or None, feather, masks=True, on_progress=progress_hook(total)):
        end = chunk.start + chunk.frames.shape[0]
        images[chunk.start:end] = from_uint8(chunk.frames)
        masks[chunk.start:end] = chunk.masks[0].to(device).float() / 255
    return images, masks


class AnimateSourceVideo(io.ComfyNode):
    """Animate Source Video."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_AnimateSourceVideo",
            display_name="Animate Source Video (LivePortrait)",
            category=CATEGORY,
            description="Video-to-video (the official source-video path): gives the face in each frame of a source "
                        "video the driving expression while it keeps its own head motion, smoothed over time, and "
                        "pastes it back into the full frames. With an expression (Expression Editor, Load Expression "
                        "or Keyframe Timeline) the sliders edit every frame from its own pose and expression (e.g. "
                        "make the person smile), on top of the driving motion when one is connected; neutral sliders "
                        "change nothing. Frames where the face was not found stay as they were and are listed. "
                        "Renders chunk_size frames at a time; Cancel stops after the chunk being rendered.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("images", tooltip="The source video's frames (Get Video Components' images)."),
                Crop.Input("crop", tooltip="The crop output of Crop Faces run on these frames with frames = video (and "
                                           "on_missing_face = skip to keep frames without the face)."),
                Motion.Input("motion", optional=True,
                             tooltip="The driving motion: from Extract Motion, Load Motion Template or a motion node. "
                                     "Optional when an expression is connected; the driving options below apply to "
                                     "it only."),
                Expression.Input("expression", optional=True,
                                 tooltip="Optional slider state (Expression Editor, Load Expression, or Keyframe "
                                         "Timeline for values per frame) applied to every frame's own motion, after "
                                         "the driving motion when one is connected. Per-frame values follow the "
                                         "output frames and hold their last value past their end."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                *source_video_inputs(),
                io.Float.Input("feather", default=DEFAULT_FEATHER, min=0.0, max=256.0, step=1.0,
                               tooltip="Width of the paste-back mask's soft edge, in crop pixels (official 16; 0 = hard edge)."),
                chunk_input(),
            ],
            outputs=[
                io.Image.Output(display_name="images", tooltip="The source frames with the animated face pasted back; "
                                                               "use the source video's fps and audio for Create Video."),
                io.Mask.Output(display_name="mask", tooltip="Per frame, where the face was pasted (1) and not (0)."),
                io.String.Output(display_name="missing_frames",
                                 tooltip="Source frames where the face was not found, kept as they were, e.g. "
                                         "'2, 7-9'; empty when it was found in every frame."),
            ],
        )

    @classmethod
    def validate_inputs(cls, driving_option: str, animation_region: str, frame_policy: str) -> bool | str:
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region,
                             frame_policy=frame_policy)

    @classmethod
    def execute(cls, models: LoadedModels, images: Tensor, crop: FaceCrop, feather: float, chunk_size: int,
                motion: DrivingMotion | None = None, expression: ExpressionSliders | None = None,
                **options) -> io.NodeOutput:
        animation = plan(models, images, crop, motion, expression, **options)
        frames, masks = render(animation, feather, chunk_size)
        return io.NodeOutput(frames, masks, frame_ranges(animation.missing[0]))
