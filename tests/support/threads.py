"""Helpers for tests of work handed to background threads."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator


def counted(n: int, fail_at: int | None = None, produced: list[int] | None = None,
            delay: float = 0.0) -> Iterator[int]:
    """0 .. n-1, appending each to ``produced`` as it is made; raises RuntimeError instead of yielding ``fail_at``."""
    for i in range(n):
        if delay:
            time.sleep(delay)
        if i == fail_at:
            raise RuntimeError(f"failed making item {i}")
        if produced is not None:
            produced.append(i)
        yield i


def background_threads(name: str) -> list[threading.Thread]:
    """The live threads called ``name``."""
    return [t for t in threading.enumerate() if t.name == name]
