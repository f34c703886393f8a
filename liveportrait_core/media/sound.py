"""Sound held in memory: a waveform that a written video takes in place of another file's audio track.

The ComfyUI nodes turn an AUDIO input (samples already decoded, e.g. by Load Audio or a video loader) into a
:class:`Waveform`; :class:`~.video.VideoWriter` muxes it as it muxes a file's sound (see ``Sound``).
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

# FFmpeg's default layout for each channel count: what a waveform's channels are taken to be
LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


@dataclass(frozen=True)
class Waveform:
    """float32 samples shaped (channels, n), nominally in [-1, 1], at ``sample_rate`` Hz; 1 to 8 channels."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 2 or self.samples.shape[0] not in LAYOUTS:
            raise ValueError(f"a waveform is shaped (channels, samples) with 1 to {max(LAYOUTS)} channels, got "
                             f"{tuple(self.samples.shape)}")
        if not self.sample_rate > 0:
            raise ValueError(f"a waveform's sample rate must be positive, got {self.sample_rate}")

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Seconds of sound."""
        return self.samples.shape[1] / self.sample_rate

    def fitted(self, seconds: float) -> "Waveform":
        """The first ``seconds`` of the sound, followed by silence where it is shorter."""
        want = round(seconds * self.sample_rate)
        samples = self.samples[:, :want]
        if samples.shape[1] < want:
            samples = np.pad(samples, ((0, 0), (0, want - samples.shape[1])))
        return Waveform(np.ascontiguousarray(samples, dtype=np.float32), self.sample_rate)

    def frames(self, block: int = 16384) -> Iterator[av.AudioFrame]:
        """The samples as planar float audio frames of at most ``block`` samples, for a resampler."""
        for start in range(0, self.samples.shape[1], block):
            part = np.ascontiguousarray(self.samples[:, start:start + block], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(part, format="fltp", layout=LAYOUTS[self.channels])
            frame.sample_rate = self.sample_rate
            yield frame


Sound = Path | Waveform
"""The sound a written video keeps: a media file's first audio track, or samples in memory."""
