"""Node: slider states at keyframes, eased in between, animating a still source without a driving video, or
editing a source video over time (its per-frame slider state into Animate Source Video)."""
from __future__ import annotations

import json
from dataclasses import replace

from ..liveportrait_core.editing.apply_sliders import slider_motion
from ..liveportrait_core.editing.keyframes import EASINGS, Keyframe, keyframe_sliders
from ..liveportrait_core.editing.sliders import ExpressionSliders
from ..liveportrait_core.pipeline.engine import SourceState
from .comfy import io
from .expression_editor import edited_keypoints
from .models import LoadedModels
from .payloads import DrivingMotion
from .sockets import EDITING, Expression, Keypoints, Models, Motion, Source

EXAMPLE = """[
 {"frame": 0},
 {"frame": 12, "smile": 1.0, "easing": "ease_in_out"},
 {"frame": 24, "aaa": 60, "yaw": 10}
]"""


def parse_keyframes(text: str) -> list[Keyframe]:
    """Keyframes from a JSON list of objects: "frame", optional "easing" and slider values (unset = neutral)."""
    try:
        items = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"keyframes are not valid JSON ({err})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "frame" in i for i in items):
        raise ValueError('keyframes must be a JSON list of objects, each with a "frame" number')
    keyframes = []
    for item in items:
        values = {k: v for k, v in item.items() if k not in ("frame", "easing")}
        try:
            keyframes.append(Keyframe(item["frame"], ExpressionSliders(**values), item.get("easing", "linear")))
        except TypeError:
            raise ValueError(f"keyframe {item['frame']}: unknown slider in {sorted(values)}") from None
        except ValueError as err:
            raise ValueError(f"keyframe {item['frame']}: {err}") from None
    return keyframes


def timeline_sliders(keyframes: str, frame_count: int) -> ExpressionSliders:
    """Per-frame slider values of the timeline (frame_count 0: up to the last keyframe)."""
    return keyframe_sliders(parse_keyframes(keyframes), frame_count or None)


class KeyframeTimeline(io.ComfyNode):
    """Keyframe Timeline."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_KeyframeTimeline",
            display_name="Keyframe Timeline (LivePortrait)",
            category=EDITING,
            description="Animates a still source with no driving video: expression-slider states at keyframes (the "
                        "Expression Editor's slider names and units), eased in between; each keyframe is hit exactly "
                        "and the value holds before the first and after the last. Follow it with Stitch, then Render; "
                        "or connect its expression output to Animate Source Video to edit a video over time (frame "
                        "numbers are the video's output frames).",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", tooltip="From Extract Appearance."),
                io.String.Input("keyframes", multiline=True, default=EXAMPLE,
                                tooltip='A JSON list, one object per keyframe: "frame" (increasing, from 0), optional '
                                        f'"easing" to the next keyframe ({", ".join(EASINGS)}; default linear) and '
                                        "slider values by their Expression Editor names; unset sliders are neutral."),
                io.Int.Input("frame_count", default=0, min=0, max=100000,
                             tooltip="Frames to produce; 0 = up to the last keyframe."),
                io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=0.01, tooltip="Frame rate of the result."),
            ],
            outputs=[
                Keypoints.Output(display_name="keypoints", tooltip="One set of keypoints per frame, not yet stitched, "
                                                                   "for Stitch and Render."),
                Motion.Output(display_name="motion",
                              tooltip="The same timeline as driving motion (head pose, expression and scale edits "
                                      "on the source; the eye / lip ratio targets are not part of it): for the motion "
                                      "nodes, Save Motion Template, or to drive another face (relative motion is "
                                      "measured from frame 0, so start the timeline neutral)."),
                Expression.Output(display_name="expression",
                                  tooltip="The per-frame slider state (one value per frame for every slider): for "
                                          "Animate Source Video, which edits each video frame with its frame's "
                                          "values, or Save Expression."),
            ],
        )

    @classmethod
    def validate_inputs(cls, keyframes: str, frame_count: int) -> bool | str:
        try:
            timeline_sliders(keyframes, frame_count)
        except ValueError as err:
            return str(err)
        return True

    @classmethod
    def execute(cls, models: LoadedModels, source: SourceState, keyframes: str, frame_count: int,
                fps: float) -> io.NodeOutput:
        sliders = timeline_sliders(keyframes, frame_count)
        motion = replace(slider_motion(source.motion, sliders), fps=fps)
        return io.NodeOutput(edited_keypoints(models, source, sliders, fps=fps), DrivingMotion(motion), sliders)
