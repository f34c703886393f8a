"""Editing a still picture with the expression sliders: the official "Retargeting Image" path
(``GradioPipeline.execute_image_retargeting``: crop, slider keypoints, render, paste back)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..editing.apply_sliders import slider_keypoints
from ..editing.sliders import ExpressionSliders
from ..faces import CropTrack
from ..faces.pasteback import DEFAULT_FEATHER
from .compositing import AnimatedFace, render_faces
from .engine import LivePortraitEngine
from .source_frames import SourceFrames
from .source_motion import source_motions


@dataclass
class StillEdit:
    """frames: uint8 (N, H, W, 3), the picture with the edited face pasted back (the (N, 512, 512, 3) renders
    when the face was not cropped); keypoints: (N, 21, 3) the driving keypoints (N > 1 for per-frame sliders)."""

    frames: Tensor
    keypoints: Tensor


@torch.inference_mode()
def edit_still(engine: LivePortraitEngine, picture: SourceFrames, track: CropTrack | None, sliders: ExpressionSliders, *,
               stitching: bool = True, feather: float = DEFAULT_FEATHER, landmarks: CropTrack | None = None) -> StillEdit:
    """Apply a slider state to the face of a still picture.

    Args:
        track: the face's crop (one frame); None edits the whole picture as the face, without paste-back.
        stitching: the stitching MLP (the app's default).
        landmarks: a track whose landmarks give the eye/lip ratios when ``track`` has none (needed by the
            ratio targets).
    """
    if picture.is_video:
        raise ValueError(f"{picture.path}: the expression editor edits still images; give one picture")
    (motion,) = source_motions(engine, picture, [track], None if landmarks is None else [landmarks])
    keypoints = slider_keypoints(engine.networks.stitching, motion, sliders, stitching=stitching)
    face = AnimatedFace(track, motion, keypoints)
    chunks = render_faces(engine, picture, [face], [0] * keypoints.shape[0], feather=feather, paste=track is not None)
    return StillEdit(torch.cat([c.frames for c in chunks]), keypoints)
