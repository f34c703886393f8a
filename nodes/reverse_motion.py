"""Node: a motion played backwards."""
from __future__ import annotations

from ..liveportrait_core.motion.ops import reverse
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class ReverseMotion(io.ComfyNode):
    """Reverse Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ReverseMotion",
            display_name="Reverse Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Plays a motion backwards. Relative driving is then measured against its old last frame "
                        "unless Anchor Motion set an anchor.",
            inputs=[Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node.")],
            outputs=[Motion.Output(display_name="motion", tooltip="The frames in reverse order.")],
        )

    @classmethod
    def execute(cls, motion: DrivingMotion) -> io.NodeOutput:
        return io.NodeOutput(motion.with_sequence(reverse(motion.sequence)))
