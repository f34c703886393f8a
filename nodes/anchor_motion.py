"""Node: the frame that relative driving measures a motion against."""
from __future__ import annotations

from ..liveportrait_core.motion.anchors import most_neutral_frame, neutral_reference
from ..liveportrait_core.motion.ops import one_frame
from .choices import check_choices
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion

ANCHORS = ("frame", "most neutral frame", "neutral reference")


class AnchorMotion(io.ComfyNode):
    """Anchor Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_AnchorMotion",
            display_name="Anchor Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Relative driving moves the source by each frame's change from an anchor frame (official: the "
                        "first). Pick another frame, the frame closest to the official neutral face, or a synthetic "
                        "neutral reference (frontal, neutral mouth), so a clip starting mid-expression does not carry "
                        "that expression inverted. The anchor stays with the motion through later motion nodes; "
                        "a single driving image becomes a clip measured against it.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Combo.Input("anchor", options=list(ANCHORS), default="frame",
                               tooltip="frame: the frame below; most neutral frame: the frame whose expression is "
                                       "closest to the official neutral one; neutral reference: a frontal frame with "
                                       "the neutral expression and the clip's mean scale and position."),
                io.Int.Input("frame", default=0, min=-100000, max=100000,
                             tooltip="anchor 'frame' only: its index (negative counts from the end)."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The same frames, with their anchor.")],
        )

    @classmethod
    def validate_inputs(cls, anchor: str) -> bool | str:
        return check_choices(cls, anchor=anchor)

    @classmethod
    def execute(cls, motion: DrivingMotion, anchor: str, frame: int) -> io.NodeOutput:
        sequence = motion.sequence
        if anchor == "neutral reference":
            reference = neutral_reference(sequence)
        else:
            reference = one_frame(sequence, frame if anchor == "frame" else most_neutral_frame(sequence), "anchor")
        return io.NodeOutput(DrivingMotion(sequence, from_image=False, anchor=reference))
