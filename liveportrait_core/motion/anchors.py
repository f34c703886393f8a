"""Choosing what relative driving motion is measured against (the anchor).

Relative driving (``driving.driven_motion``) moves the source by each driving frame's change from
an anchor frame: ``δ = δ_s + (δ_d,i − δ_a)``, ``R = R_d,i · R_aᵀ · R_s``, ``s = s_s · s_d,i / s_a``,
``t = t_s + (t_d,i − t_a)``. The anchor is frame 0 by default and any frame through ``anchor=``.
This module picks a frame by content (:func:`most_neutral_frame`) and builds an anchor that is not in
the clip (:func:`neutral_reference`): put it in front with :func:`with_anchor`, drive with
``anchor=0`` and drop the first output frame.
"""
from __future__ import annotations

import torch

from .driving import lip_array
from .ops import concatenate, one_frame, recompose
from .regions import keypoint_mask
from .sequence import MotionSequence


def most_neutral_frame(motion: MotionSequence, region: str = "all") -> int:
    """Index of the frame whose expression is closest to the official neutral face.

    The distance is ``‖δ_i − δ_neutral‖`` over the keypoints of ``region`` ("all", "eyes", "lip",
    "rest"), with ``δ_neutral`` the official closed-mouth expression (``lip_array``, the anchor the
    official code uses for driving images). Ties go to the earliest frame.
    """
    mask = keypoint_mask(region, motion.exp.device)
    distance = (motion.exp - lip_array(motion.exp))[:, mask].flatten(1).norm(dim=1)
    return int(distance.argmin())


def neutral_reference(motion: MotionSequence) -> MotionSequence:
    """One synthetic anchor frame: frontal (R = I), the official neutral expression (``lip_array``),
    and the mean over frames of every other field (scale, t, kp, ratios); ``x_s`` recomputed."""
    frame = motion.select(slice(0, 1))
    means = {k: v.mean(dim=0, keepdim=True) for k, v in motion.tensors().items() if k not in ("R", "exp", "x_s")}
    identity = torch.eye(3, dtype=motion.R.dtype, device=motion.R.device)[None]
    return recompose(frame, R=identity, exp=lip_array(motion.exp), **means)


def with_anchor(motion: MotionSequence, anchor: int | MotionSequence) -> MotionSequence:
    """``motion`` with its anchor in front (N + 1 frames): a frame index of ``motion`` or one external frame.

    Driving with ``anchor=0`` then measures every frame against it; drop output frame 0 afterwards.
    """
    return concatenate(one_frame(motion, anchor, "anchor"), motion)
