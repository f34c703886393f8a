"""Node: the expression and/or head rotation of a reference picture (or clip) taken into the source, by region."""
from __future__ import annotations

from ..liveportrait_core.editing.apply_sliders import posed_keypoints
from ..liveportrait_core.motion.regions import TRANSFER_REGIONS, transfer_expression
from ..liveportrait_core.pipeline.engine import SourceState
from .choices import check_choices
from .comfy import io
from .payloads import DrivenKeypoints, DrivingMotion
from .sockets import EDITING, Keypoints, Motion, Source


class ExpressionFromReference(io.ComfyNode):
    """Expression From Reference."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ExpressionFromReference",
            display_name="Expression From Reference (LivePortrait)",
            category=EDITING,
            description="Gives the source the expression and/or head rotation of a reference image (one frame) or of "
                        "each frame of a reference clip, in one region, mixed by a ratio. The source keeps its own "
                        "scale, position and everything outside the region. Follow it with Stitch, then Render.",
            inputs=[
                Source.Input("source", tooltip="From Extract Appearance."),
                Motion.Input("reference", tooltip="Extract Motion of the reference image (or clip: one output frame "
                                                  "per reference frame)."),
                io.Combo.Input("region", options=list(TRANSFER_REGIONS), default="exp",
                               tooltip="all: expression and head rotation; exp: the whole expression; rotation: head "
                                       "rotation only; eyes / lip: the expression of those keypoints only."),
                io.Float.Input("ratio", default=1.0, min=0.0, max=2.0, step=0.01,
                               tooltip="0 keeps the source, 1 copies the reference, above 1 exaggerates."),
            ],
            outputs=[Keypoints.Output(display_name="keypoints", tooltip="The edited keypoints, not yet stitched, for "
                                                                        "Stitch and Render.")],
        )

    @classmethod
    def validate_inputs(cls, region: str) -> bool | str:
        return check_choices(cls, region=region)

    @classmethod
    def execute(cls, source: SourceState, reference: DrivingMotion, region: str, ratio: float) -> io.NodeOutput:
        target = source.motion
        edited = transfer_expression(target, reference.sequence.to(target.exp.device), region, ratio)
        return io.NodeOutput(DrivenKeypoints(source, posed_keypoints(edited), None, 1.0, reference.sequence.fps))
