"""Node: a motion resampled to another frame rate."""
from __future__ import annotations

from ..liveportrait_core.motion.ops import retime
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class RetimeMotion(io.ComfyNode):
    """Retime Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_RetimeMotion",
            display_name="Retime Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Resamples a motion to another frame rate, keeping its duration: head rotations are "
                        "interpolated on the sphere, everything else linearly.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=0.01, tooltip="The target frame rate."),
            ],
            outputs=[
                Motion.Output(display_name="motion", tooltip="round(frames x fps / old fps) frames at the new rate."),
                io.Float.Output(display_name="fps", tooltip="The new frame rate."),
            ],
        )

    @classmethod
    def execute(cls, motion: DrivingMotion, fps: float) -> io.NodeOutput:
        return io.NodeOutput(motion.with_sequence(retime(motion.sequence, fps)), fps)
