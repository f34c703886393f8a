"""Nodes that edit a motion: anchor, blend, cross-fade, loop, neutralize, retime, reverse, scale regions, smooth, trim.

Each takes a motion (and its settings) and returns a new one; none loads a model.
"""
from __future__ import annotations

from ..liveportrait_core.motion import ops as motion_ops
from ..liveportrait_core.motion.anchors import most_neutral_frame, neutral_reference
from ..liveportrait_core.motion.ops import blend, cross_fade, one_frame, retime, reverse, trim
from ..liveportrait_core.motion.regions import EXPRESSION_REGIONS, neutralize, scale_regions
from ..liveportrait_core.motion.smoothing import SMOOTH_METHODS, smooth_motion
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


class BlendMotion(io.ComfyNode):
    """Blend Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_BlendMotion",
            display_name="Blend Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Mixes two motions of the same length (or one of a single frame) frame by frame: head "
                        "rotations on the sphere, everything else linearly.",
            inputs=[
                Motion.Input("motion_a", tooltip="The first motion (its fps and anchor are kept)."),
                Motion.Input("motion_b", tooltip="The second motion, same frame count or one frame."),
                io.Float.Input("weight", default=0.5, min=0.0, max=1.0, step=0.01,
                               tooltip="Share of motion_b: 0 = motion_a, 1 = motion_b."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="The mixed motion.")],
        )

    @classmethod
    def execute(cls, motion_a: DrivingMotion, motion_b: DrivingMotion, weight: float) -> io.NodeOutput:
        b = motion_b.sequence.to(motion_a.sequence.R.device)
        return io.NodeOutput(motion_a.with_sequence(blend(motion_a.sequence, b, weight)))


class CrossFadeMotion(io.ComfyNode):
    """Cross-fade Motion."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_CrossFadeMotion",
            display_name="Cross-fade Motion (LivePortrait)",
            category=MOTION_OPS,
            description="Plays motion_a then motion_b, the last frames of a blended into the first frames of b; "
                        "frames outside the overlap are kept as they are (0 frames = plain concatenation).",
            inputs=[
                Motion.Input("motion_a", tooltip="The first motion (its fps and anchor are kept)."),
                Motion.Input("motion_b", tooltip="The motion that follows."),
                io.Int.Input("frames", default=8, min=0, max=100000,
                             tooltip="Overlap length, at most the shorter motion's frame count."),
            ],
            outputs=[Motion.Output(display_name="motion", tooltip="len(a) + len(b) - frames frames.")],
        )

    @classmethod
    def execute(cls, motion_a: DrivingMotion, motion_b: DrivingMotion, frames: int) -> io.NodeOutput:
        b = motion_b.sequence.to(motion_a.sequence.R.device)
        return io.NodeOutput(motion_a.with_sequence(cross_fade(motion_a.sequence, b, frames)))


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
