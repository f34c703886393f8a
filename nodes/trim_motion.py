"""Node: a range of a motion's frames."""
from __future__ import annotations

from ..liveportrait_core.motion.ops import trim
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class TrimMotion(io.ComfyNode):
    """Trim Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_TrimMotion",
            display_name="Trim Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Keeps frames start ... end-1 of a motion (negative numbers count from the end). Relative "
                        "driving is measured against the first kept frame unless Anchor Motion set an anchor.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Int.Input("start", default=0, min=-100000, max=100000, tooltip="First frame kept (0 = the first)."),
                io.Int.Input("end", default=0, min=-100000, max=100000,
                             tooltip="Frame after the last one kept; 0 = up to the end, -1 drops the last frame."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The kept frames.")],
        )

    @classmethod
    def execute(cls, motion: DrivingMotion, start: int, end: int) -> io.NodeOutput:
        return io.NodeOutput(motion.with_sequence(trim(motion.sequence, start, end or None)))
