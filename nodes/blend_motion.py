"""Node: two motions mixed frame by frame."""
from __future__ import annotations

from ..liveportrait_core.motion.ops import blend
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class BlendMotion(io.ComfyNode):
    """Blend Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_BlendMotion",
            display_name="Blend Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Mixes two motions of the same length (or one of a single frame) frame by frame: head "
                        "rotations on the sphere, everything else linearly.",
            inputs=[
                Motion.Input("motion_a", tooltip="The first motion (its fps and anchor are kept)."),
                Motion.Input("motion_b", tooltip="The second motion, same frame count or one frame."),
                io.Float.Input("weight", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="Share of motion_b: 0 = motion_a, 1 = motion_b."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The mixed motion.")],
        )

    @classmethod
    def execute(cls, motion_a: DrivingMotion, motion_b: DrivingMotion, weight: float) -> io.NodeOutput:
        b = motion_b.sequence.to(motion_a.sequence.R.device)
        return io.NodeOutput(motion_a.with_sequence(blend(motion_a.sequence, b, weight)))
