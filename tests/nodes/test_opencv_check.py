"""The load-time warning about several OpenCV distributions, on made-up installs (``distributions`` replaced)."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from nodes import opencv_check
from nodes.opencv_check import OPENCV_DISTRIBUTIONS, installed_opencv, opencv_conflict_message, warn_about_opencv


def fake_install(monkeypatch, installed: dict[str, str]) -> list[str]:
    """Make ``distributions(name=...)`` see ``installed`` (name -> version); returns the names looked up."""
    asked: list[str] = []

    def distributions(name: str):
        asked.append(name)
        return [SimpleNamespace(version=installed[name])] if name in installed else []

    monkeypatch.setattr(opencv_check, "distributions", distributions)
    return asked


def test_two_distributions_are_named_with_the_fix(monkeypatch, caplog):
    asked = fake_install(monkeypatch, {"opencv-python": "4.10.0.84", "opencv-contrib-python": "4.11.0.86"})
    with caplog.at_level(logging.WARNING, logger=opencv_check.__name__):
        warn_about_opencv()
    assert asked == list(OPENCV_DISTRIBUTIONS)  # each known name looked up, nothing else read
    (record,) = caplog.records
    message = record.getMessage()
    assert record.levelno == logging.WARNING
    assert "opencv-python 4.10.0.84, opencv-contrib-python 4.11.0.86" in message
    assert "pip uninstall -y opencv-python opencv-contrib-python && python -m pip install opencv-contrib-python" in message
    assert "MediaPipe depends on it" in message


@pytest.mark.parametrize("installed", [{}, {"opencv-contrib-python": "4.11.0.86"}, {"opencv-python-headless": "4.9"}])
def test_one_or_no_distribution_is_quiet(monkeypatch, caplog, installed):
    fake_install(monkeypatch, installed)
    with caplog.at_level(logging.WARNING, logger=opencv_check.__name__):
        warn_about_opencv()
    assert not caplog.records and installed_opencv() == installed


def test_headless_variants_count_too():
    message = opencv_conflict_message({"opencv-python-headless": "4.10", "opencv-contrib-python-headless": "4.10",
                                       "opencv-contrib-python": "4.11"})
    assert message.startswith("LivePortrait: 3 OpenCV packages are installed")
    assert "uninstall -y opencv-python-headless opencv-contrib-python-headless opencv-contrib-python" in message


def test_this_environment_is_read_without_error():
    assert set(installed_opencv()) <= set(OPENCV_DISTRIBUTIONS)
