"""Node: a motion repeated, straight or back and forth."""
from __future__ import annotations

from ..liveportrait_core.motion import ops as motion_ops
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class LoopMotion(io.ComfyNode):
    """Loop Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LoopMotion",
            display_name="Loop Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Repeats a motion: straight (N x times frames) or ping-pong, forward then backward without "
                        "repeating the turning frames, so the result loops seamlessly ((2N - 2) x times frames).",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Int.Input("times", default=2, min=1, max=1000, tooltip="Repetitions (round trips for ping-pong)."),
                io.Boolean.Input("ping_pong", default=False, label_on="ping-pong", label_off="repeat",
                                 tooltip="ping-pong: forward then backward; repeat: start over each time."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The repeated motion.")],
        )

    @classmethod
    def execute(cls, motion: DrivingMotion, times: int, ping_pong: bool) -> io.NodeOutput:
        repeat = motion_ops.ping_pong if ping_pong else motion_ops.loop
        return io.NodeOutput(motion.with_sequence(repeat(motion.sequence, times)))
