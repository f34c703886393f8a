"""Driving keypoints of one face, whatever drives it and whatever it sits in.

* a still human source: the official image path (:func:`~.retargeting.animate_keypoints`);
* a source video: the official source-video path (:mod:`.video_to_video`);
* animals (the engine's weights are the animal variant): the official animal path (:mod:`.animals`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch
from torch import Tensor

from .animals import animal_keypoints
from .driving import DrivingOptions
from .engine import LivePortraitEngine
from .motion_sequence import MotionSequence
from .retargeting import animate_keypoints
from .video_to_video import SourceVideoOptions, source_video_keypoints


@dataclass
class FaceDriving:
    """What drives one face: a driving motion (a video's, a template's, or one image's) and how it is applied."""

    motion: MotionSequence
    is_image: bool = False
    options: DrivingOptions = field(default_factory=DrivingOptions)


@torch.inference_mode()
def face_keypoints(engine: LivePortraitEngine, source: MotionSequence, driving: FaceDriving, source_index: Sequence[int],
                   driving_index: Sequence[int], video: SourceVideoOptions = SourceVideoOptions()) -> Tensor:
    """(L, 21, 3) driving keypoints of one face for L output frames.

    Args:
        source: the face's own motion in the S source frames (S = 1: a still image).
        source_index, driving_index: per output frame, the source and driving frame it shows (L each).
    """
    module = engine.networks.stitching
    drive = driving.motion.to(engine.device).select(list(driving_index))
    if engine.networks.variant == "animals":
        if len(source) != 1:
            raise ValueError("the animal pipeline animates still images only (the official one has no source-video path)")
        return animal_keypoints(module, source, drive, driving.options)
    if len(source) == 1:
        return animate_keypoints(module, source, drive, driving.options, driving_is_image=driving.is_image)
    return source_video_keypoints(module, source.select(list(source_index)), drive, driving.options, video,
                                  driving_is_image=driving.is_image)
