"""Node: the whole pipeline in one node, calling the same functions as the step nodes."""
from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor

from ..liveportrait_core.motion.driving import DrivingOptions
from ..liveportrait_core.pipeline.driving_files import DrivingCrop
from .choices import check_choices
from .comfy import Input, io
from .extract_appearance import extract_appearance
from .extract_motion import DEFAULT_FPS, extract_motion
from .media_inputs import VideoSource, audio_output, video_source, waveform
from .models import LoadedModels
from .payloads import DrivingMotion
from .render import chunk_input, render
from .retarget import driving_options, option_inputs, retarget
from .sockets import CATEGORY, Models, Motion
from .stitch import stitch_keypoints


NODE = "LivePortrait Animate"


def _driving(models: LoadedModels, images: Tensor | None, motion: DrivingMotion | None, video: VideoSource | None,
             fps: float) -> DrivingMotion:
    """The driving motion from exactly one of the three driving inputs; a video's frames are used as they are, as
    driving images are (no crop), at the video's frame rate."""
    given = [name for name, value in (("driving_images", images), ("driving_motion", motion), ("driving_video", video))
             if value is not None]
    if len(given) != 1:
        raise ValueError(f"{NODE}: connect exactly one of the inputs 'driving_images', 'driving_motion' and "
                         f"'driving_video' (got {', '.join(given) or 'none'})")
    if motion is not None:
        return motion
    if images is not None:
        return extract_motion(models, images, fps)
    driving = video.driving(models.ready(), None, DrivingCrop(mode="off"), DrivingOptions(), None)
    return DrivingMotion(driving.motion, from_image=len(driving.motion) == 1)


class Animate(io.ComfyNode):
    """LivePortrait Animate."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_Animate",
            display_name="LivePortrait Animate",
            category=CATEGORY,
            description="Extract Appearance, Extract Motion, Retarget, Stitch and Render in one node: animates the "
                        "source portrait with driving frames, a driving VIDEO (streamed from its file when it has "
                        "one) or a motion template. Passes the sound on (the driving video's, or 'audio'), cut or "
                        "padded with silence to the animation's length, for Create Video.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("source_image", tooltip="The source portrait: one image, ideally a face crop."),
                io.Image.Input("driving_images", optional=True,
                               tooltip="Driving frames (or one driving image); leave empty when 'driving_motion' is connected."),
                Motion.Input("driving_motion", optional=True,
                             tooltip="Driving motion from Load Motion Template; leave empty when 'driving_images' is connected."),
                io.Video.Input("driving_video", optional=True,
                               tooltip="A driving VIDEO (Load Video, Create Video), its frames used as they are, like "
                                       "'driving_images', at its own frame rate; Load Video's file is decoded chunk by "
                                       "chunk. Leave the other driving inputs empty."),
                io.Audio.Input("audio", optional=True,
                               tooltip="The sound to pass on instead of the driving video's (Load Audio, a video "
                                       "loader's audio)."),
                io.Float.Input("fps", default=DEFAULT_FPS, min=0.01, max=1000.0, step=0.01,
                               tooltip="Frame rate of the driving frames (a template and a driving video bring their "
                                       "own)."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                chunk_input(),
            ],
            outputs=[
                io.Image.Output(display_name="frames", tooltip="The animated 512x512 frames, one per driving frame."),
                io.Float.Output(display_name="fps", tooltip="The driving frame rate, for Create Video."),
                io.Audio.Output(display_name="audio",
                                tooltip="'audio', else the driving video's sound (none without either), as long as the "
                                        "frames: cut, or followed by silence; for Create Video."),
            ],
        )

    @classmethod
    def validate_inputs(cls, driving_option: str, animation_region: str) -> bool | str:
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region)

    @classmethod
    def execute(cls, models: LoadedModels, source_image: Tensor, fps: float, stitching: bool, chunk_size: int,
                driving_images: Tensor | None = None, driving_motion: DrivingMotion | None = None,
                driving_video: Input.Video | None = None, audio: Mapping | None = None, **options) -> io.NodeOutput:
        source = extract_appearance(models, source_image)
        with video_source(driving_video, f"{NODE}: input 'driving_video'") as video:
            motion = _driving(models, driving_images, driving_motion, video, fps)
            sound = None if video is None else video.sound
            if audio is not None:
                sound = waveform(audio, f"{NODE}: input 'audio'")
            keypoints = retarget(models, source, motion, driving_options(**options))
            if stitching:
                keypoints = stitch_keypoints(models, keypoints)
            frames = render(models, keypoints, chunk_size)
            return io.NodeOutput(frames, keypoints.fps, audio_output(sound, len(keypoints) / keypoints.fps))
