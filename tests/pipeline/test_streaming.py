"""Streaming into a video file: paste-back per chunk, interrupts, and peak memory that does not grow with length.

The renders come from a stand-in engine (random frames, no networks), so these tests measure the streaming
itself: pasting back (through ``compositing.render_faces``, with the source's given features) and encoding.
The networks' own memory is bounded by ``render.render_chunks`` (one chunk at a time);
``scripts/benchmark.py --lengths`` measured the whole path on an H100 (flat peak RSS of 3755 MiB for 100,
1000 and 10000 frames).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from liveportrait_core.faces import CropTrack, paste_back, paste_mask, warp_mask
from liveportrait_core.faces.crop_geometry import invert_affine
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.pipeline.engine import SourceState
from liveportrait_core.pipeline.streaming import PasteTarget, render_to_video

REPO = Path(__file__).resolve().parents[2]
SHIFT = torch.tensor([[[1.0, 0.0, 64.0], [0.0, 1.0, 32.0], [0.0, 0.0, 1.0]]])  # a 512 crop at (64, 32) of 640x600


class RandomEngine:
    """Stands in for ``LivePortraitEngine.render``: (n, 3, 512, 512) frames of random flat colours, chunk by chunk."""

    device = torch.device("cpu")

    def render(self, source, keypoints, chunk_size, on_progress=None):
        total = keypoints.shape[0]
        for start in range(0, total, chunk_size):
            yield torch.rand(min(chunk_size, total - start), 3, 1, 1) * torch.ones(512, 512)
            if on_progress is not None:
                on_progress(min(start + chunk_size, total), total)


def target() -> PasteTarget:
    nan = float("nan")
    track = CropTrack(invert_affine(SHIFT.double()), torch.full((1, 203, 2), nan), torch.full((1, 4), nan),
                      torch.full((1,), nan), torch.ones(1, dtype=torch.bool), 512)
    return PasteTarget(np.full((600, 640, 3), 90, np.uint8), track)


def source() -> SourceState:
    """A still source whose features are given (paste-back must not extract them again)."""
    zeros = torch.zeros(1, 21, 3)
    return SourceState(torch.zeros(1), MotionSequence(torch.eye(3)[None], zeros, torch.ones(1, 1), torch.zeros(1, 3),
                                                      kp=zeros, x_s=zeros))


def decoded(path: Path) -> tuple[list[np.ndarray], av.VideoStream]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in container.decode(stream)], stream


def test_frames_are_pasted_back_and_progress_runs_per_chunk(tmp_path):
    torch.manual_seed(0)
    seen, renders = [], []

    class Recording(RandomEngine):
        def render(self, *args, **kwargs):
            for chunk in super().render(*args, **kwargs):
                renders.append(chunk)
                yield chunk

    count = render_to_video(Recording(), source(), torch.zeros(5, 21, 3), tmp_path / "out.mp4", 25.0, paste=target(),
                            chunk_size=2, on_progress=lambda done, total: seen.append((done, total)))
    assert count == 5 and seen == [(2, 5), (4, 5), (5, 5)]
    frames, stream = decoded(tmp_path / "out.mp4")
    assert len(frames) == 5 and frames[0].shape == (600, 640, 3) and float(stream.average_rate) == 25.0
    mask = warp_mask(paste_mask(), SHIFT, (600, 640))
    expected = paste_back(renders[0][:1], SHIFT, target().picture[None], mask)[0].numpy()
    assert np.abs(frames[0].astype(int) - expected).mean() < 2  # H.264 is lossy
    assert np.abs(frames[0][:24].astype(int) - 90).max() <= 3  # above the crop: the picture


def test_an_exception_from_progress_stops_and_leaves_a_playable_file(tmp_path):
    def stop_after_two(done: int, total: int) -> None:
        if done >= 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_to_video(RandomEngine(), None, torch.zeros(6, 21, 3), tmp_path / "out.mp4", 25.0, chunk_size=1,
                        on_progress=stop_after_two)
    frames, _ = decoded(tmp_path / "out.mp4")
    assert len(frames) == 2 and frames[0].shape == (512, 512, 3)


# VmHWM: this program's own peak. ru_maxrss would carry pytest's peak across fork and exec, and hide any growth.
_MEASURE = """
import json, sys
import torch
from tests.pipeline.test_streaming import RandomEngine, source, target
from liveportrait_core.pipeline.streaming import render_to_video
n = render_to_video(RandomEngine(), source(), torch.zeros(int(sys.argv[1]), 21, 3), sys.argv[2], 25.0, paste=target(),
                    audio_from=sys.argv[3], chunk_size=4)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
print(json.dumps({"frames": n, "peak_rss_mib": peak}))
"""


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_length(tmp_path, assets_dir):
    """One fresh process per length; 4x the frames (past the encoder's look-ahead) must not raise the peak."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads a process's own peak memory from Linux's /proc/self/status")
    peaks = {}
    for frames in (48, 192):
        proc = subprocess.run([sys.executable, "-c", _MEASURE, str(frames), str(tmp_path / f"{frames}.mp4"),
                               str(assets_dir / "driving" / "d18.mp4")], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        peaks[frames] = json.loads(proc.stdout.splitlines()[-1])["peak_rss_mib"]
    # Keeping the frames would add 144 x (3 MiB of render + 1.1 MiB of picture) ~ 590 MiB. Measured on 2 CPU
    # cores: 762-789 MiB for 48 frames, 806-813 MiB for 192 (the encoder's buffers and allocator noise).
    print(f"peak RSS MiB by frames: {peaks}")
    assert peaks[192] - peaks[48] < 100, peaks
