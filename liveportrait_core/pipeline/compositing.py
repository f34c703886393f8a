"""Rendering any number of faces into the source frames, chunk by chunk, and pasting them back.

Output frame i shows source frame ``source_index[i]`` with each face rendered at its driving keypoints
``keypoints[i]`` and pasted back, one face after the other, with the official feathered mask. Memory
stays bounded by the chunk: the source pictures and each face's feature volumes (32 × 16 × 64 × 64 a frame) exist
for one chunk only (for a still image: once). A frame where a face was not found keeps its pixels there.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from ..faces import CropTrack, cut_crops, paste_back, paste_mask, warp_mask
from ..faces.images import frames_tensor, uint8_frames
from ..faces.pasteback import DEFAULT_FEATHER
from ..motion.sequence import MotionSequence
from ..profiling import StageTimer
from .engine import LivePortraitEngine, SourceState
from .host_copy import HostFrames
from .render import ProgressHook, auto_chunk_size
from .source_frames import SourceFrames
from .source_motion import face_inputs


@dataclass
class AnimatedFace:
    """One face to render.

    track: its crop transforms in the S source frames; None: the whole picture is the face (no crop,
        and nothing is pasted back).
    motion: its own motion in the S source frames (``x_s`` per frame), from :func:`~.source_motion.source_motions`.
    keypoints: (L, 21, 3) driving keypoints, one per output frame.
    feature: a still source's feature volume (1, 32, 16, 64, 64) when it is already extracted (e.g. from
        an edited crop); None extracts it from the pictures. Ignored for a source video.
    """

    track: CropTrack | None
    motion: MotionSequence
    keypoints: Tensor
    feature: Tensor | None = None

    def found(self, index: Sequence[int]) -> Tensor:
        """(n,) bool: whether the face is in the source frames ``index``."""
        return torch.ones(len(index), dtype=torch.bool) if self.track is None else self.track.found[list(index)]


class CompositeChunk:
    """Output frames ``start … start + n − 1``.

    frames: uint8 (n, H, W, 3) on the CPU: the source pictures with every face pasted back, or, without
        paste-back, the (n, 512, 512, 3) renders of the one face. Reading it waits for the chunk's copy from the
        device; :meth:`host_frames` hands that wait to whoever calls it (the video writer's thread).
    masks: uint8 (K, n, H, W) on the CPU, each face's paste-back mask in 0..255 (0 where it was not pasted);
        None unless asked for, and without paste-back.
    """

    def __init__(self, start: int, frames: Tensor | HostFrames, masks: Tensor | None):
        self.start, self.masks = start, masks
        self._frames = frames if isinstance(frames, HostFrames) else HostFrames(frames)

    @property
    def frames(self) -> Tensor:
        return self._frames.wait()

    def host_frames(self) -> np.ndarray:
        """The frames as a numpy array, once their copy from the device has ended."""
        return self._frames.numpy()


class _FaceRenderer:
    """Renders one face for chunks of output frames; keeps the feature volume and mask of a still source."""

    def __init__(self, engine: LivePortraitEngine, face: AnimatedFace, hw: tuple[int, int], feather: float):
        self.engine, self.face, self.hw = engine, face, hw
        self.template = None if face.track is None else paste_mask(face.track.dsize, feather, engine.device)
        self._still: tuple[Tensor, Tensor | None] | None = None

    def _features_and_masks(self, pictures: np.ndarray, index: list[int], still: bool) -> tuple[Tensor, Tensor | None]:
        """Feature volumes (n or 1, 32, 16, 64, 64) and float masks (n or 1, H, W) of the frames ``index``."""
        if still and self._still is not None:
            return self._still
        pictures, index = (pictures[:1], index[:1]) if still else (pictures, index)
        track = None if self.face.track is None else self.face.track.select(index)
        given = self.face.feature if still else None
        feature = given if given is not None else self.engine.appearance(face_inputs(pictures, track))
        mask = None if track is None else warp_mask(self.template, track.crop_to_original, self.hw)
        if still:
            self._still = (feature, mask)
        return feature, mask

    def render(self, pictures: np.ndarray, index: list[int], keypoints: Tensor, still: bool,
               batch: int) -> tuple[Tensor, Tensor | None]:
        """Float (n, 3, 512, 512) renders of the frames ``index`` (all with the face) and their masks.

        A still source renders in batches of ``batch`` (a compiled generator then sees one shape, the last
        batch padded); a video's per-frame features fix the batch to the frames given.
        """
        feature, mask = self._features_and_masks(pictures, index, still)
        motion = self.face.motion.select(index[:1] if still else index)
        state = SourceState(feature=feature, motion=motion)
        renders = torch.cat(list(self.engine.render(state, keypoints, chunk_size=batch if still else len(index))))
        return renders, mask


def render_faces(engine: LivePortraitEngine, frames: SourceFrames, faces: Sequence[AnimatedFace], source_index: Sequence[int],
                 *, chunk_size: int | None = None, feather: float = DEFAULT_FEATHER, paste: bool = True,
                 masks: bool = False, on_progress: ProgressHook | None = None,
                 timer: StageTimer | None = None) -> Iterator[CompositeChunk]:
    """Yield the L = ``len(source_index)`` output frames chunk by chunk (module docstring).

    Renders, their uint8 conversion and the paste-back stay on the engine's device (a still picture is uploaded
    once); each chunk is copied to the host once, without waiting for the copy (see :class:`CompositeChunk`).

    Args:
        faces: every face with L keypoint sets.
        paste: paste the renders back into the pictures; False (one face only) yields the renders themselves.
        masks: also yield each face's mask (K frame-sized planes per frame: large for long chunks of big frames).
        chunk_size: output frames per chunk (default: what fits, see ``render.auto_chunk_size``).
        on_progress: ``(done, total)`` after each chunk; may raise to stop.
        timer: counts the stages "decode" (a source video's frames), "render" and "paste-back".
    """
    total = len(source_index)
    if any(f.keypoints.shape[0] != total for f in faces):
        raise ValueError(f"every face needs {total} keypoint sets, got {[f.keypoints.shape[0] for f in faces]}")
    if paste and any(f.track is None for f in faces):
        raise ValueError("paste-back needs each face's crop track (faces animated without a crop cannot be pasted back)")
    if not paste and len(faces) != 1:
        raise ValueError(f"without paste-back exactly one face is rendered, got {len(faces)}")
    timer = timer or StageTimer(enabled=False)
    device = engine.device
    chunk_size = chunk_size or auto_chunk_size(device, engine.dtype)
    renderers = [_FaceRenderer(engine, f, frames.size, feather) for f in faces]
    pictures_on_device = _DevicePictures(frames, device)
    still = not frames.is_video
    for start in range(0, total, chunk_size):
        index = list(source_index[start:start + chunk_size])
        with timer.stage("decode"):
            pictures = frames.read(index)
            out = pictures_on_device.read(pictures) if paste else None
        planes = (torch.zeros(len(faces), len(index), *frames.size, dtype=torch.uint8, device=device)
                  if paste and masks else None)
        for k, (renderer, face) in enumerate(zip(renderers, faces)):
            found = face.found(index)
            if not bool(found.any()):
                out = out if paste else cut_crops(pictures, face.track.select(index))
                continue
            rows = torch.nonzero(found).flatten().tolist()
            picked = [index[r] for r in rows]
            with timer.device_stage("render", device):
                renders, mask = renderer.render(pictures[rows], picked, face.keypoints[start:start + len(index)][rows],
                                                still, chunk_size)
            with timer.device_stage("paste-back", device):
                if not paste:
                    out = _crops_with_renders(pictures, face.track, index, rows, renders)
                    continue
                to_original = face.track.crop_to_original[picked]
                if len(rows) == len(index):
                    out = paste_back(renders, to_original, out, mask)
                else:
                    out = out.expand(len(index), -1, -1, -1).clone() if out.shape[0] != len(index) else out
                    out[rows] = paste_back(renders, to_original, out[rows], mask)
                if planes is not None:
                    planes[k, rows] = (mask * 255).round().to(torch.uint8).expand(len(rows), -1, -1)
        with timer.device_stage("paste-back", device):
            host = HostFrames(out.expand(len(index), -1, -1, -1))
        yield CompositeChunk(start=start, frames=host, masks=None if planes is None else planes.cpu())
        if on_progress is not None:
            on_progress(start + len(index), total)


class _DevicePictures:
    """The pictures to paste into, on the device: a still picture uploaded once, a video's frames per chunk."""

    def __init__(self, frames: SourceFrames, device: torch.device):
        self.frames, self.device = frames, device

    @cached_property
    def _still(self) -> Tensor:
        return frames_tensor(np.ascontiguousarray(self.frames.read([0]))).to(self.device)

    def read(self, pictures: np.ndarray) -> Tensor:
        """uint8 (n, H, W, 3) on the device, or (1, H, W, 3) for a still picture (to be expanded)."""
        if not self.frames.is_video:
            return self._still
        return frames_tensor(np.ascontiguousarray(pictures)).to(self.device)


def _crops_with_renders(pictures: np.ndarray, track: CropTrack | None, index: list[int], rows: list[int],
                        renders: Tensor) -> Tensor:
    """uint8 (n, 512, 512, 3) on the renders' device: the renders, and the unrendered crop where the face was not found."""
    if track is None or len(rows) == len(index):
        return uint8_frames(renders)
    out = cut_crops(pictures, track.select(index)).to(renders.device)
    out[rows] = uint8_frames(renders)
    return out
