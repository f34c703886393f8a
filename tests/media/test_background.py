"""Chunk streams with one side on a background thread: order, bounded queues, exceptions on either side."""
from __future__ import annotations

import threading
import time

import pytest

from liveportrait_core.media import read_ahead, write_behind
from tests.support.threads import background_threads, counted


def test_read_ahead_keeps_order_and_stays_bounded():
    produced: list[int] = []
    seen = []
    for item in read_ahead(counted(20, produced=produced), depth=2, name="test-read-ahead"):
        time.sleep(0.002)
        assert len(produced) - item <= 4  # the queue's 2, the one being put, the one handed out
        seen.append(item)
    assert seen == list(range(20)) and not background_threads("test-read-ahead")


def test_read_ahead_raises_where_the_producer_failed():
    seen = []
    with pytest.raises(RuntimeError, match="failed making item 3"):
        for item in read_ahead(counted(10, fail_at=3)):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_read_ahead_closed_early_stops_its_thread_and_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    stream = read_ahead(endless(), depth=1, name="test-early-close")
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    stream.close()
    assert closed.is_set() and not background_threads("test-early-close")
    with pytest.raises(ValueError):
        next(read_ahead([], depth=0))


def test_write_behind_consumes_everything_in_order_on_another_thread():
    consumed, threads = [], set()

    def consume(item: int) -> None:
        time.sleep(0.001)
        threads.add(threading.current_thread().name)
        consumed.append(item)

    assert write_behind(counted(30), consume, depth=2, name="test-writer") == 30
    assert consumed == list(range(30)) and threads == {"test-writer"}


def test_write_behind_bounds_how_far_the_producer_runs_ahead():
    produced: list[int] = []
    lead = []

    def consume(item: int) -> None:
        lead.append(len(produced) - item)
        time.sleep(0.003)

    write_behind(counted(20, produced=produced), consume, depth=2)
    assert max(lead) <= 4  # being consumed, 2 queued, one being put


def test_write_behind_raises_the_consumer_error_and_stops_producing():
    produced: list[int] = []

    def consume(item: int) -> None:
        if item == 2:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_behind(counted(1000, produced=produced, delay=0.001), consume, depth=2)
    assert len(produced) < 20  # stopped soon after, not at the end


def test_write_behind_finishes_handed_items_when_the_producer_fails():
    consumed = []

    def consume(item: int) -> None:
        time.sleep(0.005)  # slower than the producer: items are still queued when it fails
        consumed.append(item)

    with pytest.raises(RuntimeError, match="failed making item 5"):
        write_behind(counted(10, fail_at=5), consume, depth=3)
    assert consumed == [0, 1, 2, 3, 4]
