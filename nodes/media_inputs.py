"""ComfyUI's VIDEO and AUDIO inputs as the core streams them.

A VIDEO backed by a file (core Load Video) is decoded chunk by chunk from that file, never held whole; a VIDEO made
of frames (Create Video, another pack's node) already holds its frames in memory, which are fed on in chunks. An
AUDIO (core Load Audio, a video's sound, VideoHelperSuite's lazily loaded audio) becomes a core
:class:`~liveportrait_core.media.Waveform`.
"""
from __future__ import annotations

import io as bytes_io
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.media import MediaError, Sound, Waveform, probe_video, read_sound
from ..liveportrait_core.motion.driving import DrivingOptions
from ..liveportrait_core.pipeline.driving_files import CHUNK, DrivingCrop, DrivingFrames, driving_motion, load_driving
from ..liveportrait_core.pipeline.engine import LivePortraitEngine
from ..liveportrait_core.pipeline.face_keypoints import FaceDriving
from ..liveportrait_core.pipeline.source_frames import SourceFrames
from .comfy import Input, InputImpl, folder_paths
from .images import check_image, to_uint8


@dataclass(frozen=True)
class VideoSource:
    """A video the core reads: a file decoded in chunks (``path``), or an IMAGE batch already in memory (``frames``,
    at ``fps``), and the sound that goes with it. ``name`` names it in errors."""

    name: str
    sound: Sound | None
    path: Path | None = None
    frames: Tensor | None = None
    fps: float | None = None  # None for a file: read from it

    @classmethod
    def file(cls, path: Path) -> "VideoSource":
        """A video file (its own sound)."""
        return cls(path.name, path, path=path)

    def driving(self, engine: LivePortraitEngine, detector: FaceDetector | None, crop: DrivingCrop,
                options: DrivingOptions, limit: int | None) -> FaceDriving:
        """The driving motion of the first ``limit`` frames (all when None), cropped as ``crop`` says; frames in
        memory are made uint8 one chunk at a time."""
        if self.path is not None:
            return load_driving(engine, self.path, detector, crop, options, limit)
        frames = self.frames[:limit]

        def chunks() -> Iterator[np.ndarray]:
            return (to_uint8(frames[start:start + CHUNK]).cpu().numpy() for start in range(0, frames.shape[0], CHUNK))

        driving = DrivingFrames(chunks, self.fps, frames.shape[2], frames.shape[1], self.name)
        return driving_motion(engine, driving, detector, crop, options)

    def source_frames(self, limit: int | None) -> SourceFrames:
        """The frames of a source video: decoded on demand from a file, or the first ``limit`` frames in memory."""
        if self.path is not None:
            return SourceFrames.video(self.path, limit)
        return SourceFrames.in_memory(to_uint8(self.frames[:limit]).cpu().numpy(), self.name, self.fps)


@contextmanager
def video_source(video: Input.Video | None, what: str) -> Iterator[VideoSource | None]:
    """The VIDEO input ``what`` (e.g. "Render to Video File: input 'driving_video_in'") as a :class:`VideoSource`;
    None when it is not connected.

    A file-backed VIDEO is streamed from its file (one held as bytes is written to ComfyUI's temp folder first, and
    removed afterwards); any other VIDEO gives its frames, frame rate and audio. A VIDEO without frames is refused
    with an error naming the input.
    """
    if video is None:
        yield None
        return
    if not isinstance(video, InputImpl.VideoFromFile):
        components = video.get_components()
        if components.images.ndim != 4 or components.images.shape[0] == 0:
            raise ValueError(f"{what} holds no frames; connect a video with at least one frame")
        check_image(components.images, what)
        sound = None if components.audio is None else waveform(components.audio, f"{what}'s audio")
        yield VideoSource(what, sound, frames=components.images, fps=float(components.frame_rate))
        return
    stream = video.get_stream_source()
    if not isinstance(stream, bytes_io.BytesIO):
        yield _checked_file(Path(stream), what)
        return
    with tempfile.NamedTemporaryFile(dir=folder_paths.get_temp_directory(), suffix=".video", delete=False) as copy:
        shutil.copyfileobj(stream, copy)
    try:
        yield _checked_file(Path(copy.name), what)
    finally:
        Path(copy.name).unlink(missing_ok=True)


def _checked_file(path: Path, what: str) -> VideoSource:
    """A file-backed VIDEO, refused with an error naming the input unless it has a video stream with frames."""
    try:
        probe_video(path)
    except MediaError as err:
        raise ValueError(f"{what} holds no readable video frames ({err}); connect a video file with at least one "
                         "frame") from None
    return VideoSource(what, path, path=path)


def waveform(audio: Mapping, what: str) -> Waveform:
    """An AUDIO value (``{"waveform": (B, C, N) tensor, "sample_rate": int}``, or a mapping that loads it when read,
    as VideoHelperSuite's loaders give) as a core waveform; of a batch, its first sound."""
    try:
        samples, rate = audio["waveform"], int(audio["sample_rate"])
    except Exception as err:  # a lazy mapping decodes here: name the input whatever went wrong
        raise ValueError(f"{what} could not be read ({type(err).__name__}: {err}); connect an AUDIO from Load Audio "
                         "or a video loader") from err
    if not isinstance(samples, Tensor) or samples.ndim != 3 or samples.shape[0] == 0:
        shape = tuple(samples.shape) if isinstance(samples, Tensor) else type(samples).__name__
        raise ValueError(f"{what} is not an AUDIO waveform shaped (batch, channels, samples), got {shape}")
    try:
        return Waveform(samples[0].float().cpu().numpy(), rate)
    except ValueError as err:
        raise ValueError(f"{what}: {err}") from None


def audio_output(sound: Sound | None, seconds: float) -> dict | None:
    """An AUDIO output of ``sound`` cut or padded with silence to ``seconds`` (None: no sound)."""
    if isinstance(sound, Path):
        sound = read_sound(sound)
    if sound is None:
        return None
    fitted = sound.fitted(seconds)
    return {"waveform": torch.from_numpy(fitted.samples)[None], "sample_rate": fitted.sample_rate}
