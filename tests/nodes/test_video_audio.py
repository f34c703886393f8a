"""VIDEO and AUDIO inputs through a real ComfyUI server, and what VideoHelperSuite's loaders emit.

Core Load Video (a file-backed VIDEO, streamed from its file) and Create Video (frames and sound in memory) drive
LivePortrait Animate and Render to Video File; an AUDIO replaces the sound, cut or padded with silence to the video's
length. The test pack ``tests/support/vhs_like`` stands in for VideoHelperSuite (IMAGE batch, frame_count, lazily
decoded AUDIO, video_info, fps as FLOAT) and for core Load Audio, which needs torchaudio (absent from the CPU test
host): ``LPKTest_Tone`` makes an AUDIO of any length. Bad VIDEO inputs fail with an error naming the input, write
nothing, and leave the server answering.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import av
import numpy as np
import pytest

from liveportrait_core.media import VideoWriter, Waveform, iter_video_frames
from tests.support.comfy_server import video_output
from tests.support.faces import face_models, server_face_models  # noqa: F401  (fixtures)
from tests.support.lp_prompts import DEFAULT_OPTIONS, Graph, models

DRIVE, FRAMES, FPS = "drive_24fps.mp4", 3, 24.0  # 64x64 face-crop-sized frames with a 440 Hz tone as long as they are
SOURCE, SOURCE_FPS = "s18_2.mp4", 25.0  # two frames of s18 (1280x720, a face, with sound)
NO_FRAMES = "sound_only.mp4"  # an audio stream and no video stream
PORTRAIT = "source_s6.png"
VIDEO_SECONDS = FRAMES / FPS


@pytest.fixture(scope="module")
def inputs(comfy_server, conformance_dir, assets_dir) -> Path:
    folder = comfy_server.base / "input"
    frames = np.random.default_rng(0).integers(0, 256, (FRAMES, 64, 64, 3), dtype=np.uint8)
    t = np.arange(round(VIDEO_SECONDS * 44100)) / 44100
    tone = Waveform(np.repeat(0.5 * np.sin(2 * np.pi * 440 * t)[None], 2, 0).astype(np.float32), 44100)
    with VideoWriter(folder / DRIVE, FPS, audio_from=tone) as writer:
        writer.write(frames)
    s18 = assets_dir / "source" / "s18.mp4"
    with VideoWriter(folder / SOURCE, SOURCE_FPS, audio_from=s18) as writer:
        writer.write(next(iter_video_frames(s18, chunk=2, limit=2)))
    with av.open(str(folder / NO_FRAMES), "w") as container:
        stream = container.add_stream("aac", rate=44100, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4410), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 44100
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    shutil.copy(conformance_dir / PORTRAIT, folder / PORTRAIT)
    return folder


def probe(path: Path) -> tuple[int, float, float | None, float]:
    """Frame count, fps, audio duration (None without a sound track) and when the last audible sample plays."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames, fps = sum(1 for _ in container.decode(video)), float(video.average_rate)
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return frames, fps, None, 0.0
        audio = container.streams.audio[0]
        duration = float(audio.duration * audio.time_base)
        samples = np.concatenate([f.to_ndarray() for f in container.decode(audio)], axis=1)
    loud = (np.abs(samples).max(0) > 0.05).nonzero()[0]
    return frames, fps, duration, (loud.max() + 1) / audio.sample_rate if loud.size else 0.0


def still_source(g: Graph) -> tuple[tuple[str, int], tuple[str, int]]:
    """The models and Extract Appearance of the test portrait (a 512x512 face crop)."""
    m = (models(g), 0)
    return m, (g.add("LPK_ExtractAppearance", models=m, image=(g.add("LoadImage", image=PORTRAIT), 0)), 0)


def render_to_file(g: Graph, prefix: str, max_frames: int = 0, *, driving_video: str = "none", **links) -> str:
    """Render to Video File from the still test portrait (no paste-back: 512x512 renders)."""
    m, source = still_source(g)
    return g.add("LPK_RenderToFile", models=m, source=source, driving_video=driving_video, **DEFAULT_OPTIONS,
                 stitching=True, feather=16.0, chunk_size=4, max_frames=max_frames, filename_prefix=prefix, **links)


def animate(g: Graph, **driving) -> str:
    m = (models(g), 0)
    return g.add("LPK_Animate", models=m, source_image=(g.add("LoadImage", image=PORTRAIT), 0), fps=25.0,
                 **DEFAULT_OPTIONS, stitching=True, chunk_size=4, **driving)


def vhs_loader(g: Graph, cap: int = 0) -> tuple[str, str]:
    """The VHS-like loader of the driving clip and its Video Info (fps as FLOAT)."""
    loader = g.add("VHSLike_LoadVideo", video=DRIVE, frame_load_cap=cap)
    return loader, g.add("VHSLike_VideoInfo", video_info=(loader, 3))


def succeeded(server, g: Graph):
    run = server.run(g.prompt)
    assert run.status == "success", run.messages[-1]
    return run


def test_load_video_drives_render_to_file_from_its_file_with_its_sound(comfy_server, inputs, tmp_path):
    g = Graph()
    node = render_to_file(g, "av/load_video", driving_video_in=(g.add("LoadVideo", file=DRIVE), 0))
    run = succeeded(comfy_server, g)
    frames, fps, audio, heard = probe(video_output(comfy_server, run, node, tmp_path))
    assert (frames, fps) == (FRAMES, FPS)  # the VIDEO's frame rate, every frame
    assert audio == pytest.approx(VIDEO_SECONDS, abs=0.05) and heard == pytest.approx(VIDEO_SECONDS, abs=0.03)


def test_create_video_in_memory_with_a_longer_sound_is_cut_to_the_frames(comfy_server, inputs, tmp_path):
    g = Graph()
    loader, info = vhs_loader(g)
    video = g.add("CreateVideo", images=(loader, 0), fps=(info, 0),
                  audio=(g.add("LPKTest_Tone", seconds=2.0, sample_rate=22050, channels=1), 0))
    node = render_to_file(g, "av/create_video", max_frames=2, driving_video_in=(video, 0))
    run = succeeded(comfy_server, g)
    frames, fps, audio, heard = probe(video_output(comfy_server, run, node, tmp_path))
    assert (frames, fps) == (2, FPS)
    assert audio == pytest.approx(2 / FPS, abs=0.05) and heard == pytest.approx(2 / FPS, abs=0.03)


@pytest.mark.parametrize("seconds", [0.03, 3.0])
def test_audio_in_shorter_is_padded_with_silence_and_longer_is_cut(comfy_server, inputs, tmp_path, seconds):
    g = Graph()
    tone = g.add("LPKTest_Tone", seconds=seconds, sample_rate=48000, channels=2)
    node = render_to_file(g, f"av/tone_{seconds}", max_frames=2, driving_video=DRIVE, audio_in=(tone, 0))
    run = succeeded(comfy_server, g)  # the driving_video file combo, as before, with a sound of its own
    frames, fps, audio, heard = probe(video_output(comfy_server, run, node, tmp_path))
    assert (frames, fps) == (2, FPS)
    assert audio == pytest.approx(2 / FPS, abs=0.05)  # as long as the video either way
    assert heard == pytest.approx(min(seconds, 2 / FPS), abs=0.03)  # the short tone is followed by silence


def test_vhs_loader_drives_animate_and_its_lazy_audio_reaches_create_video(comfy_server, inputs, tmp_path):
    g = Graph()
    loader, info = vhs_loader(g, cap=2)
    node = animate(g, driving_images=(loader, 0), audio=(loader, 2))
    g.prompt[node]["inputs"]["fps"] = [info, 0]  # fps as FLOAT from Video Info
    video = g.add("CreateVideo", images=(node, 0), fps=(node, 1), audio=(node, 2))
    save = g.add("SaveVideo", video=(video, 0), filename_prefix="av/vhs_animate", format="auto", codec="auto")
    run = succeeded(comfy_server, g)
    frames, fps, audio, heard = probe(video_output(comfy_server, run, save, tmp_path))
    assert (frames, fps) == (2, FPS)
    assert audio == pytest.approx(2 / FPS, abs=0.05) and heard == pytest.approx(2 / FPS, abs=0.03)


def test_vhs_image_and_audio_drive_render_to_file(comfy_server, inputs, tmp_path):
    g = Graph()
    loader, info = vhs_loader(g, cap=2)
    video = g.add("CreateVideo", images=(loader, 0), fps=(info, 0))  # VHS IMAGE + fps FLOAT, silent
    node = render_to_file(g, "av/vhs_audio_in", driving_video_in=(video, 0), audio_in=(loader, 2))
    run = succeeded(comfy_server, g)
    frames, fps, audio, heard = probe(video_output(comfy_server, run, node, tmp_path))
    assert (frames, fps) == (2, FPS) and heard == pytest.approx(2 / FPS, abs=0.03)


def test_animate_takes_a_driving_video_at_its_frame_rate_and_passes_its_sound_on(comfy_server, inputs, tmp_path):
    g = Graph()
    node = animate(g, driving_video=(g.add("LoadVideo", file=DRIVE), 0))  # the fps widget says 25
    video = g.add("CreateVideo", images=(node, 0), fps=(node, 1), audio=(node, 2))
    save = g.add("SaveVideo", video=(video, 0), filename_prefix="av/animate_video", format="auto", codec="auto")
    run = succeeded(comfy_server, g)
    frames, fps, audio, heard = probe(video_output(comfy_server, run, save, tmp_path))
    assert (frames, fps) == (FRAMES, FPS)
    assert audio == pytest.approx(VIDEO_SECONDS, abs=0.05) and heard == pytest.approx(VIDEO_SECONDS, abs=0.03)


def test_source_video_in_keeps_its_frame_rate_and_sound(comfy_server, inputs, server_face_models, tmp_path):  # noqa: F811
    g = Graph()
    m = (models(g), 0)
    loader, info = vhs_loader(g)
    driving = g.add("CreateVideo", images=(loader, 0), fps=(info, 0))
    detector = g.add("LPK_LoadFaceDetector", backend="mediapipe", threshold=0.0, download=False)
    node = g.add("LPK_RenderToFile", models=m, driving_video="none", driving_video_in=(driving, 0),
                 source_video_in=(g.add("LoadVideo", file=SOURCE), 0), detector=(detector, 0), **DEFAULT_OPTIONS,
                 stitching=True, feather=16.0, chunk_size=2, max_frames=0, filename_prefix="av/source_video_in")
    run = succeeded(comfy_server, g)
    frames, fps, audio, _ = probe(video_output(comfy_server, run, node, tmp_path))
    assert (frames, fps) == (2, SOURCE_FPS)  # the shorter of source (2) and driving (3), at the source's rate
    assert audio == pytest.approx(2 / SOURCE_FPS, abs=0.05)  # the source's sound ("auto")


def test_bad_video_inputs_name_the_input_and_leave_the_server_healthy(comfy_server, inputs, tmp_path):
    output = comfy_server.base / "output"
    before = sorted(output.rglob("*"))

    def fails(g: Graph, *phrases: str) -> None:
        run = comfy_server.run(g.prompt)
        assert run.status == "error"
        message = run.error["exception_message"]
        assert all(p in message for p in phrases), message

    g = Graph()
    render_to_file(g, "av/empty", driving_video_in=(g.add("LPKTest_EmptyVideo"), 0))
    fails(g, "input 'driving_video_in' holds no frames", "connect a video with at least one frame")
    g = Graph()
    g.add("PreviewImage", images=(animate(g, driving_video=(g.add("LoadVideo", file=NO_FRAMES), 0)), 0))
    fails(g, "LivePortrait Animate: input 'driving_video' holds no readable video frames", NO_FRAMES)
    g = Graph()
    render_to_file(g, "av/both", driving_video=DRIVE, driving_video_in=(g.add("LoadVideo", file=DRIVE), 0))
    fails(g, f"'driving_video' names the file {DRIVE} and a VIDEO is connected to 'driving_video_in'", "'none'")
    g = Graph()
    render_to_file(g, "av/neither")
    fails(g, "choose a 'driving_video' file or connect a VIDEO to 'driving_video_in'")
    assert sorted(output.rglob("*")) == before  # nothing written, nothing removed

    # healthy: the next prompt runs, here with a file-backed VIDEO held as bytes (streamed from a temporary copy)
    g = Graph()
    node = render_to_file(g, "av/after", max_frames=1, driving_video_in=(g.add("LPKTest_VideoFromBytes", video=DRIVE), 0))
    run = succeeded(comfy_server, g)
    assert probe(video_output(comfy_server, run, node, tmp_path))[:2] == (1, FPS)
    assert not list(Path(comfy_server.base / "temp").glob("*.video"))  # the temporary copy is gone
