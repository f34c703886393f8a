"""Expression sliders on a source video: every frame edited from its own motion.

The official still-image slider path (:mod:`.apply_sliders`) applied per frame, frame i being its own
source (its pose, expression δ_i, scale, translation, keypoints ``x_s,i`` and eye/lip ratios):

1. expression offsets added to δ_i, the relative degrees to frame i's pitch/yaw/roll, its scale times mov_z;
2. ``x_d,i = s · (kp_i @ R + δ) + (t_x, t_y, 0)``: t_z is dropped, as everywhere on the source-video path
   (``x_s,i`` is built without it), unlike the still path's official quirk; so with every slider neutral
   ``x_d,i`` equals ``x_s,i`` bit for bit;
3. eye/lip ratio targets through the retargeting MLPs on ``x_s,i`` and frame i's own ratios, where the
   target differs from that frame's ratio rounded to two decimals;
4. stitching against ``x_s,i`` when on: the one step every edit shares, neutral included
   (``stitch(x_s, x_s)`` is not ``x_s``), as on the still path.

With a driving motion too, the driving comes first: the official source-video transfer
(:func:`~liveportrait_core.pipeline.video_to_video.source_video_motion`) gives each frame's driven motion, the sliders edit it (steps
1–3) and the rest of that path follows (stitching, driving retargeting, eye hold, multiplier), so neutral
sliders change nothing there either.

Per-frame slider values (e.g. a keyframe timeline) follow the output frames: value k on output frame k; an
output longer than the values holds the last one (as a timeline holds after its last keyframe), and values
past the last output frame are unused.
"""
from __future__ import annotations

from torch import Tensor

from ..motion.frame_policy import extend_indices
from ..motion.sequence import MotionSequence
from ..networks.stitching import StitchingRetargeting
from .apply_sliders import slider_keypoints
from .sliders import ExpressionSliders


def frame_sliders(sliders: ExpressionSliders, length: int) -> ExpressionSliders:
    """The slider state for ``length`` output frames: single values as they are, per-frame values cut or held."""
    count = sliders.frames()
    if count is None or count == length:
        return sliders
    index = extend_indices(count, length, "hold last")
    return ExpressionSliders(**{name: tuple(v[i] for i in index) if isinstance(v, tuple) else v
                                for name, v in sliders.to_dict().items()})


def edited_frame_keypoints(module: StitchingRetargeting | None, source: MotionSequence, sliders: ExpressionSliders,
                           driven: MotionSequence | None = None, *, stitching: bool = True) -> Tensor:
    """(L, 21, 3) keypoints of L source frames edited by the sliders (module docstring).

    Args:
        module: the stitching/retargeting networks (needed for stitching and the ratio targets).
        source: the L source frames, one per output frame, with kp, x_s (and ratios for the ratio targets).
        sliders: one state, or per-frame values (cut or held to L frames).
        driven: the L frames' driven motion, edited instead of the frames' own motion (steps 1–3).
        stitching: step 4 (leave it off when the caller stitches).
    """
    return slider_keypoints(module, source, frame_sliders(sliders, len(source)), driven, stitching=stitching,
                            official_tz=False)
