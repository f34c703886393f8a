"""Fixtures and helpers of the face tests (import the fixtures into a test module to use them).

The MediaPipe model comes from ``scripts/fetch_test_models.py`` into the test cache; tests that need
it skip with the script's message where it cannot be fetched.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from liveportrait_core.faces.mediapipe_detector import FACE_LANDMARKER
from liveportrait_core.media import read_image
from tests.conftest import ASSETS, CACHE, REPO, require
from tests.support.editing_golden import EditingGolden

HUMAN_PORTRAITS = ("s0", "s5", "s6", "s7", "s9", "s12", "s42")  # paintings, statue, cartoon, photos
ANIMALS = ("s33", "s39")  # dog, cat
MODELS = CACHE / "models"


def portrait(name: str) -> np.ndarray:
    """uint8 (H, W, 3) RGB of ``shared/assets/source/<name>.jpg`` (skips when absent)."""
    return read_image(require(ASSETS / "source" / f"{name}.jpg"))


def eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-left and image-right eye centres of (..., 203, 2) landmarks (the points the crop reads)."""
    return landmarks[..., [0, 6, 12, 18], :].mean(-2), landmarks[..., [24, 30, 36, 42], :].mean(-2)


def mouth_centre(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[..., [48, 66], :].mean(-2)


@pytest.fixture(scope="session")
def editing(conformance_dir) -> EditingGolden:
    return EditingGolden(require(conformance_dir / "editing"))


@pytest.fixture(scope="session")
def face_models() -> Path:
    """Models folder holding ``mediapipe/face_landmarker.task`` (fetched once by scripts/fetch_test_models.py)."""
    if FACE_LANDMARKER.locate(MODELS) is None:
        proc = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_test_models.py"), "--dest", str(MODELS)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"MediaPipe face model unavailable: {proc.stderr.strip()[-500:]}")
    pytest.importorskip("mediapipe", reason="the mediapipe package is not installed")
    return MODELS


@pytest.fixture(scope="session")
def server_face_models(comfy_server, face_models) -> Path:
    """The test server's ``models/liveportrait/mediapipe``, linked to the cached MediaPipe model once per session."""
    link = comfy_server.base / "models" / "liveportrait" / "mediapipe"
    if not link.exists():
        link.symlink_to(face_models / "mediapipe")
    return link


@pytest.fixture(scope="session")
def mediapipe_detector(face_models):
    from liveportrait_core.faces.mediapipe_detector import MediaPipeDetector

    with MediaPipeDetector(face_models, download=False) as detector:
        yield detector
