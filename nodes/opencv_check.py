"""At load: warn when ComfyUI's Python holds more than one OpenCV distribution.

``opencv-python``, ``opencv-contrib-python`` and their ``-headless`` variants all install the same
``cv2`` package into the same folder, over each other. With two of them the files are a mix of both
versions (uninstalling one also deletes files the other needs), and ``import cv2`` fails or misses
functions, in MediaPipe (this pack's default detector) as in other packs. pip installs the second
one without a word when another pack asks for it, so the pack says so once, when it loads.
"""
from __future__ import annotations

import logging
from importlib.metadata import distributions

OPENCV_DISTRIBUTIONS = ("opencv-python", "opencv-contrib-python", "opencv-python-headless",
                        "opencv-contrib-python-headless")
MEDIAPIPE_OPENCV = "opencv-contrib-python"  # what mediapipe's wheels depend on

log = logging.getLogger(__name__)


def installed_opencv() -> dict[str, str]:
    """Installed OpenCV distribution name -> version.

    Looks each known name up (``distributions(name=...)``) rather than reading the metadata of every
    installed package, so the check costs milliseconds at load.
    """
    found: dict[str, str] = {}
    for name in OPENCV_DISTRIBUTIONS:
        for dist in distributions(name=name):
            found.setdefault(name, dist.version)
    return found


def opencv_conflict_message(installed: dict[str, str]) -> str | None:
    """The warning for two or more OpenCV distributions, naming them and the fix; None for one or none."""
    if len(installed) < 2:
        return None
    names = ", ".join(f"{name} {version}" for name, version in installed.items())
    return (f"LivePortrait: {len(installed)} OpenCV packages are installed in this Python: {names}. They all write "
            "the same cv2 module over each other, so cv2 may fail to import or miss functions (MediaPipe face "
            "detection and other nodes then break). Fix, with ComfyUI's Python: "
            f"python -m pip uninstall -y {' '.join(installed)} && python -m pip install {MEDIAPIPE_OPENCV} "
            f"(keep only {MEDIAPIPE_OPENCV}: MediaPipe depends on it, and it holds everything the others do).")


def warn_about_opencv() -> None:
    """Log :func:`opencv_conflict_message` as a warning if there is a conflict (called once, when the pack loads)."""
    message = opencv_conflict_message(installed_opencv())
    if message:
        log.warning(message)
