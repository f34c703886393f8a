"""One side of a chunk stream on a background thread, handing chunks over through a small bounded queue.

:func:`read_ahead` produces chunks (decoding a video) on a thread while the caller uses the previous ones;
:func:`write_behind` consumes chunks (encoding them) on a thread while the caller produces the next ones. The queue
holds at most ``depth`` chunks, so memory stays bounded whatever the stream's length; chunks keep their order, none
is dropped, and an exception on either side reaches the caller.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class _Failed:
    """An exception raised on the background thread, carried through the queue."""

    def __init__(self, error: BaseException):
        self.error = error


def read_ahead(items: Iterable[T], depth: int = 2, name: str = "read-ahead") -> Iterator[T]:
    """``items``, produced on a background thread up to ``depth`` ahead of the caller.

    An exception while producing is raised here, at the item where it happened. Closing the returned generator
    early (a ``break``, an exception in the caller) stops the thread after at most the item it is producing.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        """Queue ``item`` unless the caller has stopped reading; whether it was queued."""
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(items)
        try:
            for item in iterator:
                if not put(item):
                    return
        except BaseException as err:  # handed to the caller, who raises it
            put(_Failed(err))
            return
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # on this thread, which ran it (a decoder's file is closed here)
        put(_DONE)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def write_behind(items: Iterable[T], consume: Callable[[T], None], depth: int = 2, name: str = "write-behind") -> int:
    """Call ``consume(item)`` on a background thread for every item of ``items``, in order; returns the item count.

    ``items`` is iterated on the calling thread (where the device work and interrupts happen) and runs at most
    ``depth`` items ahead of ``consume``. An exception in ``consume`` stops the iteration and is raised here; an
    exception while producing lets ``consume`` finish the items already handed over (nothing produced is lost, so a
    video writer closes a playable file of every frame so far) and is then raised here.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    failure: list[BaseException] = []

    def drain() -> None:
        while (item := handoff.get()) is not _DONE:
            if failure:
                continue  # keep taking items so the producer never blocks on a full queue
            try:
                consume(item)
            except BaseException as err:  # raised on the calling thread
                failure.append(err)

    thread = threading.Thread(target=drain, name=name, daemon=True)
    thread.start()
    count = 0
    try:
        for item in items:
            if failure:
                break
            handoff.put(item)
            count += 1
    finally:
        handoff.put(_DONE)
        thread.join()
    if failure:
        raise failure[0]
    return count
