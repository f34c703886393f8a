"""Video I/O with PyAV, streaming so that long videos stay in bounded memory.

Frames are uint8 RGB numpy arrays shaped (n, H, W, 3). Videos are read chunk by chunk
(:func:`iter_video_frames`) and written chunk by chunk (:class:`VideoWriter`); nothing here holds a whole video.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Literal

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace
from PIL import Image, UnidentifiedImageError

from ..profiling import StageTimer
from .background import write_behind
from .images import MediaError, checked_frames, write_png_frames
from .sound import LAYOUTS, Sound, Waveform


_BT709 = 1  # AVCOL_PRI_BT709 / AVCOL_TRC_BT709 / AVCOL_SPC_BT709


# ---------------------------------------------------------------------------------------------
# Videos: reading


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds; ``frames`` is exact (counted by demuxing when the container does not say)."""

    path: Path
    fps: float
    frames: int
    width: int
    height: int
    has_audio: bool
    duration: float  # seconds


def _open(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, turning PyAV failures into a MediaError naming the file."""
    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open media {path}: {exc}") from exc


def _open_has_audio(path: Path) -> bool:
    """Whether a media file has an audio stream (a MediaError names it when it cannot be opened)."""
    with _open(path) as container:
        return bool(container.streams.audio)


def _video_stream(container: av.container.InputContainer, path: Path) -> av.VideoStream:
    if not container.streams.video:
        raise MediaError(f"{path} has no video stream")
    return container.streams.video[0]


def _decoded(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> Iterator[av.VideoFrame]:
    """The stream's frames; decoder failures become a MediaError naming the file."""
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise MediaError(f"cannot decode video {path}: {exc}") from exc


def _first_frame(container: av.container.InputContainer, stream: av.VideoStream, path: Path) -> av.VideoFrame:
    """Decode one frame: FFmpeg opens almost any file (a text file named .png is an 'image2' stream)."""
    frame = next(_decoded(container, stream, path), None)
    if frame is None:
        raise MediaError(f"{path}: the video stream holds no frames")
    return frame


def _count_packets(path: Path) -> int:
    """Frames of the first video stream counted by demuxing (no decoding), for containers that do not say."""
    with _open(path) as container:
        return sum(1 for packet in container.demux(_video_stream(container, path)) if packet.size)


def probe_video(path: str | Path) -> VideoInfo:
    """Frame rate, exact frame count, size, audio presence and duration of a video, decoding one frame only."""
    path = Path(path)
    with _open(path) as container:
        stream = _video_stream(container, path)
        first = _first_frame(container, stream, path)
        rate = stream.average_rate or stream.guessed_rate
        if not rate:
            raise MediaError(f"{path}: the video stream has no frame rate")
        frames = stream.frames or _count_packets(path)
        if stream.duration:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = frames / float(rate)
        return VideoInfo(path, float(rate), frames, first.width, first.height, bool(container.streams.audio), duration)


def iter_video_frames(path: str | Path, chunk: int = 16, start: int = 0, limit: int | None = None) -> Iterator[np.ndarray]:
    """Decode frames ``start`` .. ``start + limit`` as uint8 (n, H, W, 3) RGB chunks of at most ``chunk`` frames.

    Frames before ``start`` are decoded and dropped (exact on any stream, unlike keyframe seeking).
    Frames of a different size (a mid-stream resolution change) are scaled to the first frame's size, so every
    chunk has one size; the first such frame is warned about.
    """
    if chunk < 1 or start < 0 or (limit is not None and limit < 0):
        raise ValueError(f"need chunk >= 1, start >= 0, limit >= 0 or None; got {chunk}, {start}, {limit}")
    path = Path(path)
    end = None if limit is None else start + limit
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        batch: list[np.ndarray] = []
        size: tuple[int, int] | None = None  # (width, height) of the first frame
        resized = False
        for index, frame in enumerate(_decoded(container, stream, path)):
            if end is not None and index >= end:
                break
            if size is None:
                size = (frame.width, frame.height)
            elif (frame.width, frame.height) != size and not resized:
                resized = True
                warnings.warn(f"{path.name}: frame {index} is {frame.width}x{frame.height} but the video starts at "
                              f"{size[0]}x{size[1]}; it and every other frame of another size are scaled to "
                              f"{size[0]}x{size[1]}")
            if index < start:
                continue
            batch.append(frame.to_ndarray(format="rgb24", width=size[0], height=size[1]))
            if len(batch) == chunk:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)


def image_or_video(path: str | Path) -> Literal["image", "video"]:
    """Whether ``path`` is a still image (Pillow) or a video (PyAV).

    Animated images (GIF, APNG, WebP) count as videos; any other file PyAV can demux with a
    video stream (mp4, mov, mkv, webm, avi ...) is a video.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            if not getattr(img, "is_animated", False):
                return "image"
    except (OSError, UnidentifiedImageError):
        pass
    try:
        with _open(path) as container:
            _first_frame(container, _video_stream(container, path), path)
            return "video"
    except MediaError as exc:
        raise MediaError(f"{path} is neither an image nor a video ({exc})") from exc


def is_video(path: str | Path) -> bool:
    """Whether ``path`` is a video (see :func:`image_or_video`); False for images and unreadable files."""
    try:
        return image_or_video(path) == "video"
    except MediaError:
        return False


# ---------------------------------------------------------------------------------------------
# Videos: writing


def fps_fraction(fps: float | Fraction) -> Fraction:
    """An exact frame rate: NTSC-style rates (29.97, 23.976, 59.94) become n*1000/1001, others a small fraction.

    n and n*1000/1001 differ by 0.1 %, so a 0.01 % tolerance tells them apart while accepting
    the usual two- or three-decimal spellings of NTSC rates.
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if isinstance(fps, Fraction):
        return fps
    ntsc = Fraction(round(fps * 1.001) * 1000, 1001)
    if abs(fps - ntsc) < 1e-4 * fps:
        return ntsc
    return Fraction(fps).limit_denominator(1001)


def _sound_format(sound: Sound) -> tuple[int, int]:
    """The channels a sound is kept in (mono stays mono, more become stereo) and its sample rate, of a waveform or
    of a media file's first audio track."""
    if isinstance(sound, Waveform):
        channels, rate = sound.channels, sound.sample_rate
    else:
        with _open(sound) as container:
            stream = container.streams.audio[0]
            channels, rate = stream.channels, stream.sample_rate
    return min(channels, 2), rate


def _sound_blocks(sound: Sound, layout: str, rate: int) -> Iterator[np.ndarray]:
    """The sound as planar float32 (channels, n) blocks, resampled to ``rate`` Hz and ``layout`` (mono or stereo)."""
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    if isinstance(sound, Waveform):
        frames: Iterable[av.AudioFrame | None] = [*sound.frames(), None]
        yield from (out.to_ndarray() for frame in frames for out in resampler.resample(frame))
        return
    with _open(sound) as container:
        try:
            for frame in container.decode(container.streams.audio[0]):
                yield from (out.to_ndarray() for out in resampler.resample(frame))
        except av.FFmpegError as exc:
            raise MediaError(f"cannot decode the audio of {sound}: {exc}") from exc
        yield from (out.to_ndarray() for out in resampler.resample(None))


def read_sound(path: str | Path) -> Waveform | None:
    """The first audio track of a media file decoded into memory (mono or stereo, at its own rate); None without one."""
    path = Path(path)
    if not _open_has_audio(path):
        return None
    channels, rate = _sound_format(path)
    blocks = list(_sound_blocks(path, LAYOUTS[channels], rate))
    return Waveform(np.concatenate(blocks, axis=1) if blocks else np.zeros((channels, 0), np.float32), rate)


class _AudioTrack:
    """A sound (a media file's first audio track, or a waveform) encoded to AAC and muxed in step with the video.

    The track lasts exactly as long as the video: a longer sound is cut where the video ends, a shorter one is
    followed by silence.
    """

    def __init__(self, sound: Sound, output: av.container.OutputContainer):
        channels, rate = _sound_format(sound)
        self.rate = rate if rate in av.Codec("aac", "w").audio_rates else 48000
        self._channels, self._layout = channels, LAYOUTS[channels]
        self._output = output
        self._stream = output.add_stream("aac", rate=self.rate, layout=self._layout)
        self._samples = _sound_blocks(sound, self._layout, self.rate)
        self._pending = np.zeros((self._channels, 0), np.float32)
        self._written = 0

    def write_until(self, seconds: float) -> None:
        """Encode and mux the sound up to ``seconds`` after the start (silence past its end)."""
        target = round(seconds * self.rate)
        while self._written < target:
            if self._pending.shape[1] == 0:
                self._pending = next(self._samples, None)
                if self._pending is None:  # the sound has ended before the video
                    self._pending = np.zeros((self._channels, target - self._written), np.float32)
            take = min(target - self._written, self._pending.shape[1])
            self._encode(np.ascontiguousarray(self._pending[:, :take]))
            self._pending = self._pending[:, take:]

    def _encode(self, samples: np.ndarray | None) -> None:
        frame = None
        if samples is not None:
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=self._layout)
            frame.sample_rate, frame.pts, frame.time_base = self.rate, self._written, Fraction(1, self.rate)
            self._written += samples.shape[1]
        self._output.mux(self._stream.encode(frame))

    def finish(self, seconds: float) -> None:
        """Write the audio up to the video's end and flush the encoder."""
        self.write_until(seconds)
        self._encode(None)

    def close(self) -> None:
        self._samples.close()  # closes the file being decoded


def _sound(audio_from: str | Sound | None) -> Sound | None:
    """What a writer muxes: a waveform, a media file that has audio, or None (a file without audio: silent)."""
    if audio_from is None or isinstance(audio_from, Waveform):
        return audio_from
    return Path(audio_from) if _open_has_audio(Path(audio_from)) else None


class VideoWriter:
    """Streaming H.264 (libx264, yuv420p, BT.709) writer with optional AAC audio.

    Use as a context manager and call :meth:`write` with uint8 (n, H, W, 3) RGB chunks. Odd
    widths / heights are padded by repeating the last column / row (yuv420p needs even sizes).
    ``fps`` may be a float (29.97 is stored as 30000/1001) or a Fraction. ``audio_from`` is any
    media file (its first audio track is kept; a file without audio gives a silent video) or a
    :class:`~.sound.Waveform`; the sound is re-encoded to AAC, cut where the video ends and
    followed by silence where it ends first, so the audio track lasts as long as the video. On an
    exception inside the ``with`` block the frames so far are still finished into a playable file
    and the original exception propagates.
    """

    def __init__(
        self,
        path: str | Path,
        fps: float | Fraction,
        *,
        crf: int = 18,
        preset: str = "medium",
        audio_from: str | Sound | None = None,
    ):
        self.path = Path(path)
        self.fps = fps_fraction(fps)
        self.frames_written = 0
        self._options = {"crf": str(crf), "preset": preset}
        self._sound = _sound(audio_from)  # before the output exists: an unreadable file fails here, not mid-render
        try:
            self._container = av.open(str(self.path), "w")
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"cannot write video {self.path}: {exc}") from exc
        self._video: av.VideoStream | None = None
        self._size: tuple[int, int] | None = None  # (height, width) of the frames given, before padding
        self._audio: _AudioTrack | None = None
        self._closed = False

    @property
    def duration(self) -> float:
        """Seconds of video written so far."""
        return float(self.frames_written / self.fps)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
            return
        try:
            self.close()
        except Exception:  # the exception from the with-block is the one worth seeing
            pass

    def _start(self, height: int, width: int) -> None:
        """Add the streams once the frame size is known (all streams must exist before the first packet)."""
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = self._options
        ctx = stream.codec_context
        ctx.color_primaries = ctx.color_trc = ctx.colorspace = _BT709
        ctx.color_range = int(ColorRange.MPEG)
        self._video, self._size = stream, (height, width)
        if self._sound is not None:
            self._audio = _AudioTrack(self._sound, self._container)

    def write(self, frames: np.ndarray) -> None:
        """Encode a chunk of uint8 (n, H, W, 3) RGB frames (every chunk the same size)."""
        if self._closed:
            raise MediaError(f"{self.path}: write after close")
        frames = checked_frames(np.asarray(frames), self.path)
        height, width = frames.shape[1:3]
        if self._video is None:
            self._start(height, width)
        elif (height, width) != self._size:
            raise MediaError(f"{self.path}: frame {self.frames_written} is {width}x{height}, which differs from the first "
                             f"chunk's {self._size[1]}x{self._size[0]} (a video keeps one frame size)")
        frames = np.pad(frames, ((0, 0), (0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG
            )
            frame.pts, frame.time_base = self.frames_written, 1 / self.fps
            self._container.mux(self._video.encode(frame))
            self.frames_written += 1
        if self._audio is not None:
            self._audio.write_until(self.duration)

    def close(self) -> None:
        """Flush the encoders and finish the file; a writer that got no frames removes its empty file."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._video is not None:
                self._container.mux(self._video.encode(None))
                if self._audio is not None:
                    self._audio.finish(self.duration)
        finally:
            if self._audio is not None:
                self._audio.close()
            self._container.close()
            if self._video is None:
                self.path.unlink(missing_ok=True)


FrameChunk = np.ndarray | Callable[[], np.ndarray]
"""uint8 (n, H, W, 3) frames, or a function that returns them on the writer's thread (a device-to-host copy still in
flight is then waited for there, not on the thread that renders)."""


def write_frames(out: Path, frames: Iterable[FrameChunk], fps: float, audio_from: str | Sound | None, *,
                 timer: StageTimer | None = None, depth: int = 2) -> int:
    """Stream uint8 (n, H, W, 3) frames into ``out`` (.mp4 video with ``audio_from``'s sound as :class:`VideoWriter`
    keeps it, else a PNG folder); returns the frame count.

    Encoding runs on its own thread at most ``depth`` chunks behind ``frames``, which is iterated on the calling
    thread (:func:`~.background.write_behind`); its time is the ``timer``'s "encode" stage. An exception on either
    side reaches the caller; on one in ``frames`` the video so far is still finished into a playable file.
    """
    timer = timer or StageTimer(enabled=False)
    if out.suffix.lower() == ".mp4":
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, fps, audio_from=audio_from) as writer:
            return _write_behind(frames, lambda array, _: writer.write(array), timer, depth)
    return _write_behind(frames, lambda array, start: write_png_frames(out, array, start_index=start), timer, depth)


def _write_behind(frames: Iterable[FrameChunk], write: Callable[[np.ndarray, int], None], timer: StageTimer,
                  depth: int) -> int:
    """``write(array, index of its first frame)`` for every chunk on the writer's thread; returns the frame count."""
    count = 0

    def consume(chunk: FrameChunk) -> None:
        nonlocal count
        array = chunk() if callable(chunk) else chunk
        with timer.stage("encode"):
            write(array, count)
        count += array.shape[0]

    write_behind(frames, consume, depth, "frame-writer")
    return count
