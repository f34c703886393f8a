"""Driving keypoints of one face, whatever drives it and whatever it sits in.

* a still human source: the official image path (:func:`~liveportrait_core.motion.retargeting.animate_keypoints`);
* a source video: the official source-video path (:mod:`.video_to_video`);
* animals (the engine's weights are the animal variant): the official animal path (:mod:`~liveportrait_core.motion.animals`).

Expression sliders edit a source video's frames, on their own motion or on top of a driving motion
(:mod:`~liveportrait_core.editing.video`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from ..editing.sliders import ExpressionSliders
from ..editing.video import edited_frame_keypoints
from ..motion.anchors import with_anchor
from ..motion.animals import animal_keypoints
from ..motion.driving import DrivingOptions
from ..motion.retargeting import animate_keypoints
from ..motion.sequence import MotionSequence
from .engine import LivePortraitEngine
from .video_to_video import SourceVideoOptions, source_video_keypoints


@dataclass
class FaceDriving:
    """What drives one face: a driving motion (a video's, a template's, or one image's) and how it is applied,
    and expression sliders that edit a source video's frames on top of it. Without a motion the sliders edit each
    frame's own motion (and ``options`` other than stitching do not apply)."""

    motion: MotionSequence | None
    is_image: bool = False
    options: DrivingOptions = field(default_factory=DrivingOptions)
    sliders: ExpressionSliders | None = None
    anchor: MotionSequence | None = None  # one frame relative motion is measured against; None: the first

    def __post_init__(self) -> None:
        if self.motion is None and self.sliders is None:
            raise ValueError("a face needs a driving motion, expression sliders, or both")

    @property
    def frames(self) -> int:
        """Frames the driver brings to the timeline (1 without a motion: it follows the source frames)."""
        return 1 if self.motion is None else len(self.motion)


@torch.inference_mode()
def face_keypoints(engine: LivePortraitEngine, source: MotionSequence, driving: FaceDriving, source_index: Sequence[int],
                   driving_index: Sequence[int], video: SourceVideoOptions = SourceVideoOptions()) -> Tensor:
    """(L, 21, 3) driving keypoints of one face for L output frames.

    Args:
        source: the face's own motion in the S source frames (S = 1: a still image).
        source_index, driving_index: per output frame, the source and driving frame it shows (L each).
    """
    module = engine.networks.stitching
    if driving.sliders is not None and (engine.networks.variant == "animals" or len(source) == 1):
        raise ValueError("expression sliders here edit the frames of a human source video; edit a still image with "
                         "the Expression Editor (or the edit command)")
    if driving.motion is None:
        return edited_frame_keypoints(module, source.select(list(source_index)), driving.sliders,
                                      stitching=driving.options.stitching)
    drive = driving.motion.to(engine.device).select(list(driving_index))
    anchor = None if driving.anchor is None else driving.anchor.to(engine.device)
    if len(source) > 1:
        if engine.networks.variant == "animals":
            raise ValueError("the animal pipeline animates still images only (the official one has no source-video path)")
        return source_video_keypoints(module, source.select(list(source_index)), drive, driving.options, video,
                                      driving_is_image=driving.is_image, sliders=driving.sliders, anchor=anchor)
    skip = 0 if anchor is None else 1  # a still source measures against the anchor put in front
    if skip:
        drive = with_anchor(drive, anchor)
    if engine.networks.variant == "animals":
        return animal_keypoints(module, source, drive, driving.options)[skip:]
    return animate_keypoints(module, source, drive, driving.options, driving_is_image=driving.is_image)[skip:]
