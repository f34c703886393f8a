"""Node: temporal smoothing of a motion (official Kalman/RTS smoother or One-Euro filter)."""
from __future__ import annotations

from ..liveportrait_core.motion.smoothing import SMOOTH_METHODS, smooth_motion
from .choices import check_choices
from .comfy import io
from .payloads import DrivingMotion
from .sockets import MOTION_OPS, Motion


class SmoothMotion(io.ComfyNode):
    """Smooth Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_SmoothMotion",
            display_name="Smooth Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Reduces frame-to-frame jitter of head pose, expression, scale and position. kalman is the "
                        "official smoother (forward filter + backward pass): it sees the whole clip, so it barely lags "
                        "(under 0.2 frames at the default). one_euro is causal: it lags 0.6-1.5 frames at strength 0.5.",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion, Load Motion Template or another motion node."),
                io.Combo.Input("method", options=list(SMOOTH_METHODS), default="kalman",
                               tooltip="kalman: official Kalman/RTS smoother, almost no lag; one_euro: speed-adaptive "
                                       "low-pass, lags 0.6-1.5 frames at strength 0.5, more at higher strength."),
                io.Float.Input("strength", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="one_euro only: 0 = unchanged, 1 = time constant of 0.2 s at rest (more "
                                       "smoothing, more lag)."),
                io.Float.Input("observation_variance", default=3e-6, min=1e-9, max=1e-2, step=1e-7,
                               tooltip="kalman only: the official measurement noise (3e-6 official default; the "
                                       "official CLI uses 3e-7 for source videos). Larger smooths more."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The smoothed motion, same frames and fps.")],
        )

    @classmethod
    def validate_inputs(cls, method: str) -> bool | str:
        return check_choices(cls, method=method)

    @classmethod
    def execute(cls, motion: DrivingMotion, method: str, strength: float, observation_variance: float) -> io.NodeOutput:
        smoothed = smooth_motion(motion.sequence, method, strength=strength, observation_variance=observation_variance)
        return io.NodeOutput(motion.with_sequence(smoothed))
