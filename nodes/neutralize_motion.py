"""Node: a motion's expression zeroed, on the whole face or one region."""
from __future__ import annotations

from ..liveportrait_core.motion.regions import EXPRESSION_REGIONS, neutralize
from .choices import check_choices
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class NeutralizeMotion(io.ComfyNode):
    """Neutralize Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_NeutralizeMotion",
            display_name="Neutralize Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Zeroes the expression of every frame, on the whole face or one region, keeping head pose, "
                        "scale and position: e.g. drive the head only, or everything but the mouth.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Combo.Input("region", options=list(EXPRESSION_REGIONS), default="all",
                               tooltip="all: the whole expression; eyes / lip: those keypoints; rest: brows and "
                                       "face outline."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The motion with that expression zeroed.")],
        )

    @classmethod
    def validate_inputs(cls, region: str) -> bool | str:
        return check_choices(cls, region=region)

    @classmethod
    def execute(cls, motion: DrivingMotion, region: str) -> io.NodeOutput:
        return io.NodeOutput(motion.with_sequence(neutralize(motion.sequence, region)))
