"""Node: each face region's motion amplified or damped."""
from __future__ import annotations

from ..liveportrait_core.motion.regions import scale_regions
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


def _factor(name: str, what: str) -> io.Float.Input:
    return io.Float.Input(name, default=1.0, min=-2.0, max=5.0, step=0.01,
                          tooltip=f"{what}: 1 = unchanged, 0 = frozen at the anchor frame, above 1 exaggerates.")


class ScaleMotionRegions(io.ComfyNode):
    """Scale Motion Regions."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ScaleMotionRegions",
            display_name="Scale Motion Regions (LivePortrait)",
            category=MOTION_OPS,
            description="Amplifies or damps each region's motion relative to the motion's anchor frame (the first, "
                        "or the one Anchor Motion set): head pose (rotation and position), eyes, mouth and the rest "
                        "of the face.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                _factor("head_pose", "Head rotation and position"),
                _factor("eyes", "Eye keypoints (11, 13, 15, 16, 18)"),
                _factor("mouth", "Lip keypoints (6, 12, 14, 17, 19, 20)"),
                _factor("rest", "The other ten keypoints (brows, face outline)"),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The scaled motion.")],
        )

    @classmethod
    def execute(cls, motion: DrivingMotion, head_pose: float, eyes: float, mouth: float, rest: float) -> io.NodeOutput:
        reference = 0 if motion.anchor is None else motion.anchor
        scaled = scale_regions(motion.sequence, reference, pose=head_pose, eyes=eyes, lip=mouth, rest=rest)
        return io.NodeOutput(motion.with_sequence(scaled))
