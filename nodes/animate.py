"""Node: the whole pipeline in one node, calling the same functions as the step nodes."""
from __future__ import annotations

from torch import Tensor

from .choices import check_choices
from .comfy import io
from .extract_appearance import extract_appearance
from .extract_motion import DEFAULT_FPS, extract_motion
from .models import LoadedModels
from .payloads import DrivingMotion
from .render import chunk_input, render
from .retarget import driving_options, option_inputs, retarget
from .sockets import CATEGORY, Models, Motion
from .stitch import stitch_keypoints


def _driving(models: LoadedModels, images: Tensor | None, motion: DrivingMotion | None, fps: float) -> DrivingMotion:
    """The driving motion from exactly one of the two driving inputs."""
    if (images is None) == (motion is None):
        raise ValueError("LivePortrait Animate: connect exactly one of the inputs 'driving_images' and 'driving_motion' "
                         f"(got {'both' if motion is not None else 'neither'})")
    return motion if motion is not None else extract_motion(models, images, fps)


class Animate(io.ComfyNode):
    """LivePortrait Animate."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_Animate",
            display_name="LivePortrait Animate",
            category=CATEGORY,
            description="Extract Appearance, Extract Motion, Retarget, Stitch and Render in one node: animates the "
                        "source portrait with driving frames or a motion template.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("source_image", tooltip="The source portrait: one image, ideally a face crop."),
                io.Image.Input("driving_images", optional=True,
                               tooltip="Driving frames (or one driving image); leave empty when 'driving_motion' is connected."),
                Motion.Input("driving_motion", optional=True,
                             tooltip="Driving motion from Load Motion Template; leave empty when 'driving_images' is connected."),
                io.Float.Input("fps", default=DEFAULT_FPS, min=0.01, max=1000.0, step=0.01,
                               tooltip="Frame rate of the driving frames (a template brings its own)."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                chunk_input(),
            ],
            outputs=[
                io.Image.Output(display_name="frames", tooltip="The animated 512x512 frames, one per driving frame."),
                io.Float.Output(display_name="fps", tooltip="The driving frame rate, for Create Video."),
            ],
        )

    @classmethod
    def validate_inputs(cls, driving_option: str, animation_region: str) -> bool | str:
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region)

    @classmethod
    def execute(cls, models: LoadedModels, source_image: Tensor, fps: float, stitching: bool, chunk_size: int,
                driving_images: Tensor | None = None, driving_motion: DrivingMotion | None = None,
                **options) -> io.NodeOutput:
        source = extract_appearance(models, source_image)
        motion = _driving(models, driving_images, driving_motion, fps)
        keypoints = retarget(models, source, motion, driving_options(**options))
        if stitching:
            keypoints = stitch_keypoints(models, keypoints)
        return io.NodeOutput(render(models, keypoints, chunk_size), keypoints.fps)
