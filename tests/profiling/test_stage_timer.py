"""The stage timer's accounting: sums per stage, overlapped work, one-time costs, the printed table."""
from __future__ import annotations

import threading
import time

import pytest
import torch

from liveportrait_core.profiling import StageTimer


def test_stages_sum_over_calls_in_first_run_order():
    timer = StageTimer()
    for _ in range(3):
        with timer.stage("render"):
            time.sleep(0.01)
    timer.add("decode", 0.5)
    timer.add("render", 1.0)
    seconds = timer.seconds()
    assert list(seconds) == ["render", "decode"] and seconds["decode"] == 0.5
    assert 1.03 <= seconds["render"] < 1.2


def test_iterate_counts_the_producers_time_not_the_consumers():
    def slow_items():
        for i in range(3):
            time.sleep(0.01)
            yield i

    timer = StageTimer()
    for _ in timer.iterate("decode", slow_items()):
        time.sleep(0.03)  # the consumer's work is not decoding
    assert 0.03 <= timer.seconds()["decode"] < 0.07


def test_overlapped_stages_can_add_up_to_more_than_the_wall_time():
    timer = StageTimer()
    start = time.perf_counter()

    def encode():
        with timer.stage("encode"):
            time.sleep(0.05)

    writer = threading.Thread(target=encode)
    writer.start()
    with timer.device_stage("render", torch.device("cpu")):  # the CPU has no events: wall time
        time.sleep(0.05)
    writer.join()
    timer.wall, timer.frames = time.perf_counter() - start, 10
    seconds = timer.seconds()
    assert seconds["render"] + seconds["encode"] > timer.wall >= 0.05


def test_the_table_reports_per_frame_figures_and_one_time_costs_apart():
    timer = StageTimer()
    timer.add("model load", 3.0)
    timer.add("decode", 0.5)
    timer.add("render", 1.5)
    timer.wall, timer.frames = 2.0, 50
    lines = timer.table().splitlines()
    assert lines[0].split() == ["stage", "seconds", "ms/frame", "share"]
    assert lines[1].split() == ["decode", "0.500", "10.0", "25%"]
    assert lines[2].split() == ["render", "1.500", "30.0", "75%"]
    assert lines[3].split() == ["total", "(wall)", "2.000", "40.0", "100%"]
    assert "50 frames, 25.00 frames/s" in lines[4]
    assert lines[5] == "one-time: model load 3.00 s" and not any(line.startswith("model load") for line in lines)


def test_a_disabled_timer_records_nothing():
    timer = StageTimer(enabled=False)
    with timer.stage("render"):
        pass
    timer.add("decode", 1.0)
    assert list(timer.iterate("decode", [1, 2])) == [1, 2] and timer.seconds() == {}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA events need a CUDA device")
def test_device_stages_on_cuda_are_timed_with_events():
    timer = StageTimer()
    x = torch.randn(2048, 2048, device="cuda")
    with timer.device_stage("render", torch.device("cuda")):
        for _ in range(20):
            x = x @ x / 2048
    assert timer.seconds()["render"] > 0
