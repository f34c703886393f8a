"""Sound in memory muxed into written videos: the audio track lasts as long as the video, whatever the sound's length."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from liveportrait_core.media import VideoWriter, Waveform, read_sound, write_frames

FPS, FRAMES = 25, 20  # 0.8 s of video
VIDEO_SECONDS = FRAMES / FPS


def tone(seconds: float, rate: int = 22050, channels: int = 1, hz: float = 440.0) -> Waveform:
    """A sine tone at half amplitude."""
    t = np.arange(round(seconds * rate)) / rate
    return Waveform(np.repeat(0.5 * np.sin(2 * np.pi * hz * t)[None], channels, axis=0).astype(np.float32), rate)


def frames(n: int = FRAMES) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def audio_track(path: Path) -> tuple[float, np.ndarray]:
    """The written file's audio duration in seconds and its decoded samples."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        duration = float(stream.duration * stream.time_base)
        samples = np.concatenate([f.to_ndarray() for f in container.decode(stream)], axis=1)
    return duration, samples


@pytest.mark.parametrize("seconds", [0.3, VIDEO_SECONDS, 2.5])
def test_the_audio_track_lasts_as_long_as_the_video(tmp_path: Path, seconds: float) -> None:
    out = tmp_path / "out.mp4"
    with VideoWriter(out, FPS, audio_from=tone(seconds)) as writer:
        for start in range(0, FRAMES, 8):
            writer.write(frames()[start:start + 8])
    duration, samples = audio_track(out)
    assert duration == pytest.approx(VIDEO_SECONDS, abs=0.05)  # AAC adds at most one 1024-sample frame
    rate = samples.shape[1] / duration
    loud = np.abs(samples[0]) > 0.05
    heard = loud.nonzero()[0].max() / rate  # when the last audible sample plays
    assert heard == pytest.approx(min(seconds, VIDEO_SECONDS), abs=0.06)  # a short tone is followed by silence


def test_rates_and_channels_aac_cannot_take_are_converted(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    write_frames(out, [frames()], FPS, tone(1.0, rate=12345, channels=6))  # 5.1 at an odd rate
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        assert (stream.sample_rate, stream.channels) == (48000, 2)
    assert audio_track(out)[0] == pytest.approx(VIDEO_SECONDS, abs=0.05)


def test_an_empty_waveform_gives_a_silent_track(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    write_frames(out, [frames()], FPS, Waveform(np.zeros((2, 0), np.float32), 44100))
    duration, samples = audio_track(out)
    assert duration == pytest.approx(VIDEO_SECONDS, abs=0.05) and np.abs(samples).max() < 1e-3


def test_read_sound_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    write_frames(out, [frames()], FPS, tone(2.0, rate=44100, channels=2))
    sound = read_sound(out)
    assert (sound.channels, sound.sample_rate) == (2, 44100)
    assert sound.duration == pytest.approx(VIDEO_SECONDS, abs=0.05)
    silent = tmp_path / "silent.mp4"
    write_frames(silent, [frames(2)], FPS, None)
    assert read_sound(silent) is None


def test_waveform_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match=r"\(channels, samples\) with 1 to 8 channels, got \(100,\)"):
        Waveform(np.zeros(100, np.float32), 44100)
    with pytest.raises(ValueError, match="sample rate must be positive"):
        Waveform(np.zeros((1, 100), np.float32), 0)


def test_fitted_cuts_or_pads_with_silence() -> None:
    sound = tone(0.5, rate=1000)
    assert sound.fitted(0.2).samples.shape == (1, 200)
    longer = sound.fitted(0.8).samples
    assert longer.shape == (1, 800) and not longer[:, 500:].any() and np.array_equal(longer[:, :500], sound.samples)
