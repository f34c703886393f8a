"""The source faces' own motion in every source frame: one streaming pass of the motion extractor.

Only the small motion tensors are kept (no pixels, no feature volumes). Frames where a face is missing
are not run through the network; their motion is interpolated from the nearest frames with the face
(rotations on the geodesic), so that smoothing over time is not thrown off by them.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from ..faces import CropTrack, cut_crops, network_input
from ..faces.crop_smoothing import fill_gaps
from ..faces.images import frames_tensor
from ..motion.ops import concatenate, interpolate_frames
from ..motion.sequence import MotionSequence
from .engine import LivePortraitEngine
from .source_frames import SourceFrames

CHUNK = 16  # source frames per pass step


def face_inputs(pictures: np.ndarray | Tensor, track: CropTrack | None) -> Tensor:
    """float (n, 3, 256, 256) network inputs of one face in n pictures: its crops, or the whole pictures when
    ``track`` is None (no crop)."""
    return network_input(frames_tensor(pictures) if track is None else cut_crops(pictures, track))


def face_ratios(track: CropTrack | None) -> tuple[Tensor | None, Tensor | None]:
    """Per-frame eye (S, 2) and lip (S, 1) open ratios of a track, gaps filled; None without landmarks."""
    if track is None:
        return None, None
    valid = track.found & torch.isfinite(track.landmarks).all(dim=-1).all(dim=-1)
    if not bool(valid.any()):
        return None, None
    return fill_gaps(track.eye_ratio, valid).float(), fill_gaps(track.lip_ratio, valid).float()


def _gaps_filled(motion: MotionSequence, found: Tensor) -> MotionSequence:
    """Motion of the found frames (M) spread over all frames (S), interpolated where not found."""
    known = torch.nonzero(found).flatten().numpy()
    positions = np.interp(np.arange(found.shape[0]), known, np.arange(len(known)))
    return interpolate_frames(motion, torch.from_numpy(positions))


@torch.inference_mode()
def source_motions(engine: LivePortraitEngine, frames: SourceFrames, tracks: Sequence[CropTrack | None],
                   landmarks: Sequence[CropTrack | None] | None = None) -> list[MotionSequence]:
    """Each face's motion in all ``frames.count`` frames (R, exp, scale, t, kp, x_s, and eye/lip ratios where
    known), on the engine's device, at the video's fps (25 for a still).

    Args:
        tracks: per face, its crop track over the frames (None: the whole picture, not cropped).
        landmarks: per face, a track whose landmarks give the eye/lip ratios (default: ``tracks``; for
            uncropped faces, the detected face of each frame).
    """
    parts: list[list[MotionSequence]] = [[] for _ in tracks]
    start = 0
    for chunk in frames.chunks(CHUNK):
        for face, track in enumerate(tracks):
            part = None if track is None else track.select(slice(start, start + len(chunk)))
            found = torch.ones(len(chunk), dtype=torch.bool) if part is None else part.found
            if bool(found.any()):
                inputs = face_inputs(chunk[found.numpy()], None if part is None else part.select(found))
                parts[face].append(engine.keypoint_info(inputs).to_motion())
        start += len(chunk)
    motions = []
    for face, track in enumerate(tracks):
        found = torch.ones(frames.count, dtype=torch.bool) if track is None else track.found
        motion = replace(concatenate(*parts[face]), fps=frames.fps or 25.0)
        if not bool(found.all()):
            motion = _gaps_filled(motion, found.cpu())
        eye, lip = face_ratios(track if landmarks is None else landmarks[face])
        motion.eye_ratio = None if eye is None else eye.to(engine.device)
        motion.lip_ratio = None if lip is None else lip.to(engine.device)
        motions.append(motion)
    return motions
