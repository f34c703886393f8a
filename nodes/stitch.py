"""Node: the stitching network, as its own bypassable step."""
from __future__ import annotations

from ..liveportrait_core.motion.retargeting import stitch
from .comfy import io
from .models import LoadedModels
from .payloads import DrivenKeypoints
from .sockets import CATEGORY, Keypoints, Models


def stitch_keypoints(models: LoadedModels, keypoints: DrivenKeypoints) -> DrivenKeypoints:
    """Keypoints corrected by the stitching network so the animated face fits back into its shoulders."""
    if keypoints.stitched:
        raise ValueError("Stitch: input 'keypoints' is already stitched; remove one of the two Stitch nodes")
    engine = models.ready()
    return keypoints.with_stitched(stitch(engine.networks.stitching, keypoints.source.x_s, keypoints.x))


class Stitch(io.ComfyNode):
    """Stitch."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_Stitch",
            display_name="Stitch (LivePortrait)",
            category=CATEGORY,
            description="Applies the stitching network (official default: on), which keeps the face aligned with the "
                        "rest of the picture, as needed for pasting back. Bypass it to render without stitching; for "
                        "animals bypassing it is the official recommendation (the animal pipeline has stitching off).",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Keypoints.Input("keypoints", tooltip="From Retarget."),
            ],
            outputs=[Keypoints.Output(display_name="keypoints", tooltip="The stitched keypoints, for Render.")],
        )

    @classmethod
    def execute(cls, models: LoadedModels, keypoints: DrivenKeypoints) -> io.NodeOutput:
        return io.NodeOutput(stitch_keypoints(models, keypoints))
