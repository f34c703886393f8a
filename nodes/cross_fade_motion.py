"""Node: one motion after another, blended over an overlap."""
from __future__ import annotations

from ..liveportrait_core.motion.ops import cross_fade
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class CrossFadeMotion(io.ComfyNode):
    """Cross-fade Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_CrossFadeMotion",
            display_name="Cross-fade Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Plays motion_a then motion_b, the last frames of a blended into the first frames of b; "
                        "frames outside the overlap are kept as they are (0 frames = plain concatenation).",
            inputs=[
                Motion.Input("motion_a", tooltip="The first motion (its fps and anchor are kept)."),
                Motion.Input("motion_b", tooltip="The motion that follows."),
                io.Int.Input("frames", default=8, min=0, max=100000,
                             tooltip="Overlap length, at most the shorter motion's frame count."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="len(a) + len(b) - frames frames.")],
        )

    @classmethod
    def execute(cls, motion_a: DrivingMotion, motion_b: DrivingMotion, frames: int) -> io.NodeOutput:
        b = motion_b.sequence.to(motion_a.sequence.R.device)
        return io.NodeOutput(motion_a.with_sequence(cross_fade(motion_a.sequence, b, frames)))
