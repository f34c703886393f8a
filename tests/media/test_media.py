"""Image and video I/O: shared portraits and videos, generated edge cases, writer round trips."""
from __future__ import annotations

import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from liveportrait_core.media import (
    MediaError,
    VideoWriter,
    fps_fraction,
    is_video,
    iter_video_frames,
    probe_video,
    read_image,
    write_frames,
    write_png_frames,
)
from liveportrait_core.pipeline.driving_files import media_kind
from liveportrait_core.profiling import StageTimer

# name -> (width, height) as documented in shared/assets/README.md
PORTRAITS = {
    "s0": (600, 704), "s5": (720, 720), "s6": (725, 725), "s7": (852, 852), "s9": (720, 1280),
    "s12": (375, 500), "s42": (512, 512), "s33": (512, 512), "s39": (1080, 1439),
}


def _rng_frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _png16_rgb(path: Path, rgb16: np.ndarray) -> None:
    """A 16-bit RGB PNG written by hand (Pillow cannot write one)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in rgb16)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))  # noqa: E731
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---------------------------------------------------------------------------------------------
# Images


@pytest.mark.parametrize("name", sorted(PORTRAITS))
def test_shared_portraits(assets_dir: Path, name: str) -> None:
    image = read_image(assets_dir / "source" / f"{name}.jpg")
    width, height = PORTRAITS[name]
    assert image.shape == (height, width, 3) and image.dtype == np.uint8


def test_image_modes(tmp_path: Path) -> None:
    grey = np.arange(7 * 5, dtype=np.uint8).reshape(5, 7) * 7  # odd-sized on purpose
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    assert np.array_equal(read_image(tmp_path / "grey.png"), np.repeat(grey[..., None], 3, axis=2))

    rgba = np.zeros((3, 5, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)
    rgba[0, :, 3] = 255  # opaque row keeps its colour, transparent rows become the white background
    rgba[1, :, 3] = 128
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    out = read_image(tmp_path / "rgba.png")
    assert out.shape == (3, 5, 3)
    assert (out[0] == (10, 20, 30)).all() and (out[2] == 255).all()
    assert np.allclose(out[1], (133, 138, 143), atol=1)
    assert (read_image(tmp_path / "rgba.png", background=(0, 0, 0))[2] == 0).all()

    palette = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    palette.putpalette([255, 0, 0, 0, 0, 255])
    palette.save(tmp_path / "palette.png", transparency=1)
    assert read_image(tmp_path / "palette.png").tolist() == [[[255, 0, 0], [255] * 3], [[255] * 3, [255, 0, 0]]]

    grey16 = np.array([[0, 257 * 128, 65535]], np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    assert read_image(tmp_path / "grey16.png")[..., 0].tolist() == [[0, 128, 255]]

    rgb16 = np.array([[[65535, 0, 257 * 100], [257 * 7, 65535, 0]]], np.uint16)
    _png16_rgb(tmp_path / "rgb16.png", rgb16)
    assert read_image(tmp_path / "rgb16.png").tolist() == [[[255, 0, 100], [7, 255, 0]]]


def test_exif_orientation(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    Image.new("RGB", (40, 20), (0, 128, 0)).save(tmp_path / "rotated.jpg", exif=exif)
    assert read_image(tmp_path / "rotated.jpg").shape == (40, 20, 3)


def test_unreadable_files_name_the_file(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.png"
    bogus.write_text("not an image")
    for path in (bogus, tmp_path / "missing.jpg"):
        with pytest.raises(MediaError, match=str(path)):
            read_image(path)
    with pytest.raises(MediaError, match=str(bogus)):
        probe_video(bogus)
    with pytest.raises(MediaError, match="neither an image, a video nor a motion template"):
        media_kind(bogus)
    assert not is_video(bogus)


def test_png_frames_round_trip_lossless(tmp_path: Path) -> None:
    frames = _rng_frames(3, 9, 11)
    paths = write_png_frames(tmp_path / "out", frames, start_index=5)
    assert [p.name for p in paths] == ["000005.png", "000006.png", "000007.png"]
    assert all(np.array_equal(read_image(p), f) for p, f in zip(paths, frames))


# ---------------------------------------------------------------------------------------------
# Videos


def test_probe_shared_videos(assets_dir: Path) -> None:
    d0 = probe_video(assets_dir / "driving" / "d0.mp4")
    assert (d0.frames, d0.fps, d0.width, d0.height, d0.has_audio) == (78, 25.0, 512, 512, False)
    assert d0.duration == pytest.approx(78 / 25)
    d18 = probe_video(assets_dir / "driving" / "d18.mp4")
    assert (d18.frames, d18.fps, d18.width, d18.height, d18.has_audio) == (216, 30.0, 480, 480, True)
    assert d18.duration == pytest.approx(216 / 30)


def test_media_kind(assets_dir: Path, tmp_path: Path) -> None:
    driving = assets_dir / "driving"
    assert [media_kind(driving / n) for n in ("d0.mp4", "d19.jpg", "d1.pkl")] == ["video", "image", "template"]
    assert is_video(driving / "d18.mp4") and not is_video(driving / "d30.jpg")
    still, *more = [Image.new("RGB", (8, 8), (i * 60, 0, 0)) for i in range(3)]
    still.save(tmp_path / "anim.gif", save_all=True, append_images=more, duration=100)
    still.save(tmp_path / "still.gif")
    assert (media_kind(tmp_path / "anim.gif"), media_kind(tmp_path / "still.gif")) == ("video", "image")


def test_chunked_iteration_equals_one_shot(assets_dir: Path) -> None:
    path = assets_dir / "driving" / "d0.mp4"
    whole = list(iter_video_frames(path, chunk=1000))
    assert len(whole) == 1 and whole[0].shape == (78, 512, 512, 3) and whole[0].dtype == np.uint8
    chunks = list(iter_video_frames(path, chunk=32))
    assert [len(c) for c in chunks] == [32, 32, 14]
    assert np.array_equal(np.concatenate(chunks), whole[0])
    window = list(iter_video_frames(path, chunk=8, start=10, limit=20))
    assert [len(c) for c in window] == [8, 8, 4]
    assert np.array_equal(np.concatenate(window), whole[0][10:30])


def _video_with_a_size_change(path: Path) -> list[np.ndarray]:
    """Three 32x24 frames then two 48x40 ones in one PNG stream (each packet decodes at its own size)."""
    frames = [np.full((h, w, 3), 40 * i, np.uint8) for i, (w, h) in enumerate([(32, 24)] * 3 + [(48, 40)] * 2)]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("png", rate=25)
        stream.width, stream.height, stream.pix_fmt = 32, 24, "rgb24"
        for size in ((32, 24), (48, 40)):
            codec = av.CodecContext.create("png", "w")
            codec.width, codec.height, codec.pix_fmt, codec.time_base = *size, "rgb24", Fraction(1, 25)
            for i, rgb in enumerate(frames):
                if rgb.shape[1::-1] == size:
                    for packet in codec.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                        packet.stream, packet.pts, packet.dts, packet.time_base = stream, i, i, Fraction(1, 25)
                        container.mux(packet)
    return frames


def test_a_mid_stream_size_change_is_scaled_to_the_first_frames_size(tmp_path: Path) -> None:
    path = tmp_path / "sizes.mov"
    frames = _video_with_a_size_change(path)
    with pytest.warns(UserWarning, match=r"frame 3 is 48x40 but the video starts at 32x24") as caught:
        chunks = list(iter_video_frames(path, chunk=2))
    assert len(caught) == 1  # one warning, not one per frame of the other size
    assert [c.shape for c in chunks] == [(2, 24, 32, 3), (2, 24, 32, 3), (1, 24, 32, 3)]  # one size across chunks
    assert [int(f[0, 0, 0]) for c in chunks for f in c] == [int(f[0, 0, 0]) for f in frames]  # every frame, in order
    with pytest.warns(UserWarning, match="scaled to 32x24"):  # frames skipped before ``start`` still set the size
        assert [c.shape for c in iter_video_frames(path, chunk=2, start=3)] == [(2, 24, 32, 3)]


def test_write_frames_keeps_order_on_its_thread_and_times_encoding(tmp_path: Path) -> None:
    chunks = [_rng_frames(3, 16, 24, seed) for seed in range(5)]
    timer = StageTimer()
    assert write_frames(tmp_path / "png", iter(chunks), 25.0, None, timer=timer, depth=1) == 15
    written = np.stack([np.asarray(Image.open(p)) for p in sorted((tmp_path / "png").glob("*.png"))])
    assert np.array_equal(written, np.concatenate(chunks)) and timer.seconds()["encode"] > 0
    colours = np.arange(0, 250, 10, dtype=np.uint8)[:, None, None, None] * np.ones((16, 16, 3), np.uint8)
    lazy = [lambda c=colours[i:i + 4]: c for i in range(0, 25, 4)]  # chunks made on the writer's thread
    assert write_frames(tmp_path / "colours.mp4", lazy, 25.0, None) == 25
    decoded = next(iter_video_frames(tmp_path / "colours.mp4", chunk=100))
    assert np.abs(decoded[:, 8, 8, 0].astype(int) - colours[:, 0, 0, 0]).max() <= 3


def test_write_frames_raises_the_writers_error_naming_the_frame(tmp_path: Path) -> None:
    made = []

    def chunks():
        for i in range(50):
            made.append(i)
            yield _rng_frames(2, 16, 16 if i < 2 else 18)

    out = tmp_path / "sizes.mp4"
    with pytest.raises(MediaError, match="frame 4 is 18x16"):
        write_frames(out, chunks(), 25.0, None)
    assert len(made) < 10 and probe_video(out).frames == 4  # stopped early; the frames before are a playable file


def test_write_frames_finishes_every_frame_made_before_an_interrupt(tmp_path: Path) -> None:
    def chunks():
        for i in range(4):
            yield _rng_frames(2, 16, 16, seed=i)
        raise KeyboardInterrupt

    out = tmp_path / "partial.mp4"
    with pytest.raises(KeyboardInterrupt):
        write_frames(out, chunks(), 25.0, None, depth=2)
    assert probe_video(out).frames == 8


def test_write_video_with_audio(assets_dir: Path, tmp_path: Path) -> None:
    source = assets_dir / "driving" / "d18.mp4"
    frames = next(iter_video_frames(source, chunk=45))[:, :101, :99]  # odd size: padded to 100x102
    out = tmp_path / "out.mp4"
    with VideoWriter(out, 29.97, audio_from=source) as writer:
        for start in range(0, 45, 20):
            writer.write(frames[start : start + 20])
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        assert (video.width, video.height) == (100, 102)
        assert video.average_rate == Fraction(30000, 1001)
        assert sum(1 for _ in container.decode(video)) == 45
        assert audio.codec_context.name == "aac"
        assert float(audio.duration * audio.time_base) == pytest.approx(45 * 1001 / 30000, abs=0.05)
    info = probe_video(out)
    assert info.frames == 45 and info.has_audio and info.duration == pytest.approx(45 * 1001 / 30000)
    decoded = next(iter_video_frames(out, chunk=45))[:, :101, :99]
    assert np.abs(decoded.astype(int) - frames).mean() < 6  # lossy, but the same picture


def test_writer_colours_and_frame_count_in_mkv(tmp_path: Path) -> None:
    colours = np.zeros((4, 16, 16, 3), np.uint8)
    colours[:] = np.array([(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 150, 100)], np.uint8)[:, None, None]
    out = tmp_path / "colours.mkv"  # Matroska stores no frame count: probe_video counts packets
    with VideoWriter(out, 25, crf=0) as writer:
        writer.write(colours)
    assert probe_video(out).frames == 4 and is_video(out)
    assert np.abs(next(iter_video_frames(out)).astype(int) - colours).max() <= 2


def test_writer_finishes_the_file_on_exceptions(tmp_path: Path) -> None:
    out = tmp_path / "partial.mp4"
    with pytest.raises(RuntimeError, match="render failed"):
        with VideoWriter(out, 25) as writer:
            writer.write(_rng_frames(3, 16, 16))
            raise RuntimeError("render failed")
    assert probe_video(out).frames == 3
    empty = tmp_path / "empty.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(empty, 25):
            raise RuntimeError("before any frame")
    assert not empty.exists()
    with pytest.raises(MediaError, match="uint8"), VideoWriter(tmp_path / "bad.mp4", 25) as writer:
        writer.write(np.zeros((1, 8, 8, 3), np.float32))


def test_writer_silent_source_and_size_change(assets_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "silent.mp4"
    with VideoWriter(out, 25, audio_from=assets_dir / "driving" / "d0.mp4") as writer:  # d0 has no audio
        writer.write(_rng_frames(2, 17, 16))
        with pytest.raises(MediaError, match="frame 2 is 16x18, which differs from the first chunk's 16x17"):
            writer.write(_rng_frames(1, 18, 16))  # pads to the same size, but is not the same picture size
    assert not probe_video(out).has_audio and probe_video(out).frames == 2
    with pytest.raises(MediaError, match="missing.wav"):
        VideoWriter(tmp_path / "x.mp4", 25, audio_from=tmp_path / "missing.wav")


def test_fps_fraction() -> None:
    assert fps_fraction(29.97) == Fraction(30000, 1001) and fps_fraction(23.976) == Fraction(24000, 1001)
    assert fps_fraction(30) == 30 and fps_fraction(1.0) == 1 and fps_fraction(12.5) == Fraction(25, 2)
    with pytest.raises(ValueError):
        fps_fraction(0)

