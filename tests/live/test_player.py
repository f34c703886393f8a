"""The real-time player: newest frame first, drops instead of lag, inputs that end or fail, files in real time."""
from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest

from liveportrait_core.live import LiveFrame
from liveportrait_core.live.player import CameraInput, FileSink, LiveInputError, play

FRAMES = 40


class NumberedInput:
    """``count`` 8x8 frames whose pixels hold their index, ``fps`` a second; raises after ``fail_after`` frames."""

    name = "numbered"

    def __init__(self, live: bool, fps: float = 250.0, count: int = FRAMES, fail_after: int | None = None):
        self.live, self.fps, self.count, self.fail_after = live, fps, count, fail_after
        self.closed = False

    def frames(self):
        for i in range(self.count):
            if i == self.fail_after:
                raise OSError("the camera was unplugged")
            time.sleep(1 / self.fps)
            yield np.full((8, 8, 3), i, np.uint8)

    def close(self) -> None:
        self.closed = True


class SlowSession:
    """Stands in for a LiveSession whose renderer takes ``seconds`` a frame; records the frames it rendered."""

    def __init__(self, seconds: float):
        self.seconds, self.rendered = seconds, []

    def process(self, frame: np.ndarray) -> LiveFrame:
        time.sleep(self.seconds)
        self.rendered.append(int(frame[0, 0, 0]))
        return LiveFrame(frame, True, {"render": self.seconds})


def test_a_slow_renderer_drops_frames_instead_of_falling_behind():
    session, source = SlowSession(0.05), NumberedInput(live=True)
    report = play(session, source)
    assert report.frames_in == FRAMES and source.closed
    assert report.dropped > FRAMES // 2  # the input ran 10x faster than the renderer
    assert session.rendered == sorted(set(session.rendered))  # in order, none twice
    assert session.rendered[-1] == FRAMES - 1  # the newest frame is the one shown after the input ended
    assert report.frames_out + report.dropped == FRAMES
    # no backlog: a frame waits at most for the one being rendered (40 queued frames would wait 2 s)
    assert max(report.latency) < 0.5
    assert "dropped" in report.table() and "render" in report.percentiles()


def test_a_clip_played_as_fast_as_possible_shows_every_frame_in_order():
    session = SlowSession(0.005)
    report = play(session, NumberedInput(live=False))
    assert session.rendered == list(range(FRAMES)) and report.dropped == 0


def test_an_input_that_fails_mid_stream_ends_the_run_cleanly():
    session = SlowSession(0.0)
    report = play(session, NumberedInput(live=False, fail_after=5))
    assert session.rendered == [0, 1, 2, 3, 4]
    assert "unplugged" in report.input_error and "the input stopped" in report.table()
    assert not [t for t in threading.enumerate() if t.name == "live-input"]


def test_max_frames_and_a_sink_can_stop_the_run():
    session = SlowSession(0.0)
    assert play(session, NumberedInput(live=False), max_frames=3).frames_out == 3
    shown = []

    def sink(result: LiveFrame, arrived: float) -> bool:
        shown.append(result)
        return len(shown) < 2

    assert play(SlowSession(0.0), NumberedInput(live=False), [sink]).frames_out == 2
    assert not [t for t in threading.enumerate() if t.name == "live-input"]


def test_the_file_holds_each_frame_at_its_arrival_time(tmp_path):
    out = tmp_path / "live.mp4"
    sink = FileSink(out, fps=10)
    colours = (0, 120, 250)
    for value, arrived in zip(colours, (5.0, 5.1, 5.3)):  # the frame of 5.2 s was dropped
        sink(LiveFrame(np.full((64, 64, 3), value, np.uint8), True, {}), arrived)
    sink.close()
    with av.open(str(out)) as container:
        means = [f.to_ndarray(format="rgb24").mean() for f in container.decode(video=0)]
    assert len(means) == 4
    assert means == pytest.approx([0, 120, 120, 250], abs=3)


def test_no_camera_is_a_clear_error():
    pytest.importorskip("cv2")
    with pytest.raises(LiveInputError, match="no camera at index 97.*video file"):
        CameraInput(97)
