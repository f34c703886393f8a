"""Animated faces straight into a video file: render a chunk, paste it back, encode it, drop it.

Memory is bounded by the chunk whatever the number of frames: the driving motion is small (a few hundred
bytes a frame, see ``driving_files.load_driving``, which decodes the driving video in chunks), source
video frames are decoded chunk by chunk (``source_frames``), and each rendered chunk is pasted back by
``compositing.render_faces`` (the one compositing path) and handed to the encoder before the next one is
rendered. On an exception (an interrupt raised by ``on_progress``) the frames written so far are finished
into a playable file (see ``media.VideoWriter``) and the exception propagates; callers that do not want a
partial file remove it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor

from ..faces import CropTrack
from ..faces.images import uint8_frames
from ..faces.pasteback import DEFAULT_FEATHER
from ..media import Sound, write_frames
from .animation import Animation
from .compositing import AnimatedFace
from .engine import LivePortraitEngine, SourceState
from .host_copy import HostFrames
from .render import ProgressHook
from .source_frames import SourceFrames


@dataclass(frozen=True)
class PasteTarget:
    """The still picture the source face was cropped from, and where: each render is pasted back into it.

    picture: uint8 (H, W, 3). track: the crop of that one picture (one frame).
    """

    picture: np.ndarray
    track: CropTrack
    feather: float = DEFAULT_FEATHER


def animation_to_video(animation: Animation, out: str | Path, *, feather: float = DEFAULT_FEATHER,
                       audio_from: str | Sound | None = None, chunk_size: int | None = None,
                       on_progress: ProgressHook | None = None) -> int:
    """Write the planned ``animation`` (faces pasted back into a still or a source video) to ``out``; returns
    the frame count.

    Args:
        audio_from: a media file whose first audio track is kept, e.g. the source video, or a waveform; cut to the
            video's length, or followed by silence up to it.
        chunk_size: output frames per chunk (None: what fits, see ``render.auto_chunk_size``).
        on_progress: ``(done, total)`` after each chunk; may raise to stop (the file keeps the frames so far).
    """
    chunks = animation.render(chunk_size, feather, on_progress=on_progress)
    return write_frames(Path(out), (c.host_frames for c in chunks), animation.fps, audio_from)


def render_to_video(engine: LivePortraitEngine, source: SourceState, keypoints: Tensor, out: str | Path, fps: float, *,
                    paste: PasteTarget | None = None, audio_from: str | Sound | None = None, chunk_size: int | None = None,
                    on_progress: ProgressHook | None = None) -> int:
    """Render the still ``source`` at the (N, 21, 3) ``keypoints`` into the video ``out`` (.mp4) chunk by chunk; returns N.

    Args:
        paste: paste every frame back into this picture; None writes the 512x512 renders.
        audio_from, chunk_size, on_progress: as for :func:`animation_to_video`.
    """
    if paste is None:
        renders = engine.render(source, keypoints, chunk_size, on_progress)
        return write_frames(Path(out), (HostFrames(uint8_frames(c)).numpy for c in renders), fps, audio_from)
    face = AnimatedFace(paste.track, source.motion, keypoints, feature=source.feature)
    animation = Animation(engine, SourceFrames.in_memory(paste.picture[None]), [face], [0] * len(keypoints), fps)
    return animation_to_video(animation, out, feather=paste.feather, audio_from=audio_from, chunk_size=chunk_size,
                              on_progress=on_progress)
