"""Video-to-video: a driving expression transferred onto a source video's own motion (the official
source-video path of ``LivePortraitPipeline.execute``), batched over the L output frames.

Every output frame i pairs source frame i (its own pose, scale, translation and keypoints ``x_s,i``)
with driving frame i. What is taken from the driving motion, before Kalman smoothing over the frames
(official ``smooth``, observation variance :attr:`SourceVideoOptions.smooth_variance`, process 1e-5):

* relative, driving video: expression ``δ_s,i + (δ_d,i − δ_d,0)`` and, for regions "all"/"pose",
  rotation ``R_d,i · R_d,0ᵀ · R_s,i``;
* relative, driving image: expression ``δ_s,i + (δ_d − lip_array)``, rotation ``R_s,i`` (not smoothed);
* absolute: the driving expression and rotation (smoothed for a video), and for "all"/"pose" the
  driving translation (unsmoothed).

The expression is written into the source's own ``δ_s,i`` only where :func:`~liveportrait_core.motion.driving.expression_mask`
of the absolute mode says, for relative motion too (as the official code does for source videos);
scale and, for relative motion, translation stay the source frame's; no expression-friendly rescaling.
Then the official "Algorithm 1" per frame against ``x_s,i`` (stitching, eye/lip retargeting with the
source frame's ratios, lip normalisation), the eye hold (:attr:`SourceVideoOptions.eye_hold`) and the
driving multiplier. Expression sliders, when given, edit each frame's driven motion before the keypoints are
posed (:mod:`~liveportrait_core.editing.video`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..editing.sliders import ExpressionSliders
from ..editing.video import edited_frame_keypoints
from ..motion.driving import DrivingOptions, apply_driving_multiplier, expression_mask, lip_array
from ..motion.pose import transform_keypoints
from ..motion.retargeting import combined_eye_ratio, eye_retargeting_delta, retarget_keypoints
from ..motion.sequence import MotionSequence
from ..motion.smoothing import kalman_smooth
from ..networks.stitching import StitchingRetargeting

EYE_HOLD_THRESHOLD = 0.18  # official source_video_eye_retargeting_threshold
EYE_HOLD_OPEN = 0.39  # eye ratio held instead when the first frame's eyes are closer than the threshold


@dataclass(frozen=True)
class SourceVideoOptions:
    """Options of the source-video path; the defaults are the official CLI's.

    smooth_variance: Kalman observation variance of the transferred motion (official
        ``driving_smooth_observation_variance`` 3e-7); larger is smoother and follows the driving less.
    eye_hold: keep every frame's eye opening at the first source frame's (official
        ``flag_source_video_eye_retargeting``; 0.39 when that frame's eyes are almost closed). Only without
        eye/lip retargeting, as in the official code.
    """

    smooth_variance: float = 3e-7
    eye_hold: bool = False

    def __post_init__(self) -> None:
        v = self.smooth_variance
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"SourceVideoOptions.smooth_variance must be a positive number, got {v!r}")
        if not isinstance(self.eye_hold, bool):
            raise ValueError(f"SourceVideoOptions.eye_hold must be True or False, got {self.eye_hold!r}")


def source_video_motion(source: MotionSequence, driving: MotionSequence, options: DrivingOptions,
                        video: SourceVideoOptions = SourceVideoOptions(), *, driving_is_image: bool = False,
                        anchor: MotionSequence | None = None) -> MotionSequence:
    """Pose and expression of each output frame (module docstring), on the source frames' canonical keypoints.

    Args:
        source: L source frames (R, exp, scale, t, kp), one per output frame.
        driving: L driving frames paired with them; one frame repeated for an image.
        anchor: the one frame relative motion is measured against (default: driving frame 0, as officially).

    Returns:
        L frames (t_z kept as given; posing drops it), ``x_s`` not set.
    """
    if len(source) != len(driving) or source.kp is None:
        kp = "present" if source.kp is not None else "missing"
        raise ValueError(f"need one driving frame per source frame and the source's canonical keypoints; got "
                         f"{len(source)} source and {len(driving)} driving frame(s), kp {kp}")
    region = options.region

    def smooth(values: Tensor) -> Tensor:
        return values if driving_is_image else kalman_smooth(values, video.smooth_variance)

    if options.relative and driving_is_image:
        exp, R = source.exp + (driving.exp - lip_array(driving.exp)), source.R
    elif options.relative:
        ref = driving if anchor is None else anchor.to(driving.exp.device)
        exp = smooth(source.exp + (driving.exp - ref.exp[:1]))
        R = smooth(driving.R @ ref.R[:1].transpose(1, 2) @ source.R)
    else:
        exp, R = smooth(driving.exp), smooth(driving.R)
    pose_on = region in ("all", "pose")
    t = driving.t if pose_on and not options.relative else source.t
    mask = expression_mask(region, relative=False, device=exp.device)
    return MotionSequence(R=R if pose_on else source.R, exp=torch.where(mask, exp, source.exp), scale=source.scale,
                          t=t, kp=source.kp, eye_ratio=source.eye_ratio, lip_ratio=source.lip_ratio, fps=driving.fps)


def eye_hold_delta(module: StitchingRetargeting, x_s: Tensor, eye_ratio: Tensor) -> Tensor:
    """Eye-MLP delta holding every frame's eyes at the first frame's opening (official source-video eye retargeting).

    Args:
        x_s: (L, 21, 3) source keypoints per frame.
        eye_ratio: (L, 2) source eye-open ratios per frame.

    Returns:
        (L, 21, 3).
    """
    first = float(eye_ratio[0, :2].mean())
    target = torch.full((eye_ratio.shape[0], 1), EYE_HOLD_OPEN if first < EYE_HOLD_THRESHOLD else first,
                        dtype=x_s.dtype, device=x_s.device)
    return eye_retargeting_delta(module, x_s, combined_eye_ratio(eye_ratio.to(x_s), target))


@torch.inference_mode()
def source_video_keypoints(module: StitchingRetargeting | None, source: MotionSequence, driving: MotionSequence,
                           options: DrivingOptions, video: SourceVideoOptions = SourceVideoOptions(), *,
                           driving_is_image: bool = False, sliders: ExpressionSliders | None = None,
                           anchor: MotionSequence | None = None) -> Tensor:
    """Final driving keypoints (L, 21, 3) of a source video, one per output frame (module docstring).

    Args:
        source: L source frames with kp, x_s (and per-frame eye/lip ratios when the options use them).
        driving: L paired driving frames (with per-frame ratios for eye/lip retargeting).
        sliders: expression sliders applied to every driven frame (driving first, then edits).
        anchor: see :func:`source_video_motion`.
    """
    motion = source_video_motion(source, driving, options, video, driving_is_image=driving_is_image, anchor=anchor)
    x_s = source.x_s
    if sliders is None:
        x = transform_keypoints(motion.kp, motion.R, motion.exp, motion.scale, motion.t)
    else:
        if options.relative and (options.eye_retargeting or options.lip_retargeting) and sliders.changed():
            raise ValueError("eye/lip retargeting of relative motion rebuilds every frame from the source keypoints "
                             "(official), which would drop the slider edits; turn retargeting off to edit the expression")
        x = edited_frame_keypoints(module, source, sliders, motion, stitching=False)
    x = retarget_keypoints(module, x_s, x, options, source_eye_ratio=source.eye_ratio, source_lip_ratio=source.lip_ratio,
                           driving_eye_ratio=driving.eye_ratio, driving_lip_ratio=driving.lip_ratio)
    if video.eye_hold and not (options.eye_retargeting or options.lip_retargeting):
        if module is None or source.eye_ratio is None:
            raise ValueError("the eye hold needs the stitching_retargeting module and the source frames' eye ratios")
        x = x + eye_hold_delta(module, x_s, source.eye_ratio)
    return apply_driving_multiplier(x_s, x, options.multiplier)
