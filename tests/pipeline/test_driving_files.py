"""A driving video decoded ahead on its own thread: the motion extractor sees the frames a plain decode gives."""
from __future__ import annotations

from pathlib import Path

import torch

from liveportrait_core.faces import network_input
from liveportrait_core.faces.images import frames_tensor
from liveportrait_core.media import iter_video_frames
from liveportrait_core.motion.sequence import MotionSequence
from liveportrait_core.pipeline.driving_files import CHUNK, DrivingCrop, load_driving
from liveportrait_core.profiling import StageTimer
from tests.support.threads import background_threads


class RecordingEngine:
    """Stands in for ``LivePortraitEngine.motion``: keeps the network inputs it is given, returns still motion."""

    device = torch.device("cpu")

    def __init__(self):
        self.inputs: list[torch.Tensor] = []

    def motion(self, chunks, fps, timer=None):
        self.inputs = list(chunks)
        n = sum(len(c) for c in self.inputs)
        zeros = torch.zeros(n, 21, 3)
        return MotionSequence(torch.eye(3).expand(n, 3, 3), zeros, torch.ones(n, 1), torch.zeros(n, 3), kp=zeros,
                              x_s=zeros, fps=fps)


def test_the_prefetched_driving_frames_are_the_decoded_frames(assets_dir: Path):
    path = assets_dir / "driving" / "d0.mp4"  # 78 frames of a 512x512 face crop: not cropped again
    engine, timer = RecordingEngine(), StageTimer()
    driving = load_driving(engine, path, None, DrivingCrop("auto"), limit=40, timer=timer)
    expected = [network_input(frames_tensor(c)) for c in iter_video_frames(path, chunk=CHUNK, limit=40)]
    assert [len(c) for c in engine.inputs] == [16, 16, 8] and len(driving.motion) == 40
    assert all(torch.equal(a, b) for a, b in zip(engine.inputs, expected))
    assert {"decode", "crop"} <= set(timer.seconds()) and not background_threads("driving-decode")
