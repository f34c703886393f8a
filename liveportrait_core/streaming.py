"""A driven face straight into a video file: render a chunk, paste it back, encode it, drop it.

Memory is bounded by the chunk whatever the number of frames: the driving motion is small (a few hundred
bytes a frame, see ``driving_input.load_driving``, which decodes the driving video in chunks), and each
rendered chunk is pasted into the still source picture and handed to the encoder before the next one is
rendered. On an exception (an interrupt raised by ``on_progress``) the frames written so far are finished
into a playable file (see ``media.VideoWriter``) and the exception propagates; callers that do not want a
partial file remove it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from torch import Tensor

from .cli_support import write_frames
from .engine import LivePortraitEngine, SourceState
from .faces import paste_back, paste_mask, warp_mask
from .faces.pasteback import DEFAULT_FEATHER
from .render import ProgressHook, to_uint8


@dataclass(frozen=True)
class PasteTarget:
    """The still picture the source face was cropped from, and where: each render is pasted back into it.

    picture: uint8 (H, W, 3). crop_to_original: (1, 3, 3) ``M_c2o`` of the crop. dsize: the crop's size.
    """

    picture: np.ndarray
    crop_to_original: Tensor
    dsize: int = 512
    feather: float = DEFAULT_FEATHER


def composite(renders: Iterator[Tensor], target: PasteTarget | None) -> Iterator[Tensor]:
    """uint8 (n, H, W, 3) chunks: the float renders pasted into ``target``'s picture, or as they are (None)."""
    if target is None:
        yield from (to_uint8(chunk) for chunk in renders)
        return
    mask = warp_mask(paste_mask(target.dsize, target.feather), target.crop_to_original, target.picture.shape[:2])
    for chunk in renders:
        yield paste_back(chunk, target.crop_to_original, target.picture[None], mask)


def render_to_video(engine: LivePortraitEngine, source: SourceState, keypoints: Tensor, out: str | Path, fps: float, *,
                    paste: PasteTarget | None = None, audio_from: str | Path | None = None, chunk_size: int | None = None,
                    on_progress: ProgressHook | None = None) -> int:
    """Render ``source`` at the (N, 21, 3) ``keypoints`` into the video ``out`` (.mp4) chunk by chunk; returns N.

    Args:
        paste: paste every frame back into this picture; None writes the 512x512 renders.
        audio_from: a media file whose first audio track is kept (trimmed to the video), e.g. the driving video.
        chunk_size: frames rendered per batch (None: what fits, see ``render.auto_chunk_size``).
        on_progress: ``(done, N)`` after each chunk; may raise to stop (the file keeps the frames so far).
    """
    renders = engine.render(source, keypoints, chunk_size, on_progress)
    return write_frames(Path(out), composite(renders, paste), fps, None if audio_from is None else Path(audio_from))
