"""Shared fixtures: the conformance folder, golden arrays and synthetic weights.

The fixtures in ``../shared`` are read in place and never copied into the repository.
Synthetic weights are generated from the published spec into a cache folder outside the
repository (``$LIVEPORTRAIT_TEST_CACHE`` or ``~/.cache/liveportrait-kit-tests``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIVEPORTRAIT_SHARED", REPO.parent / "shared"))
CONFORMANCE = SHARED / "conformance"
ASSETS = SHARED / "assets"
CACHE = Path(os.environ.get("LIVEPORTRAIT_TEST_CACHE", Path.home() / ".cache" / "liveportrait-kit-tests"))

WEIGHT_FILES = (
    "appearance_feature_extractor.pth",
    "motion_extractor.pth",
    "warping_module.pth",
    "spade_generator.pth",
    "stitching_retargeting_module.pth",
)


# Fixtures that start or use the real ComfyUI server; ``pytest_collection_modifyitems`` marks their tests ``server``.
# server_face_models and workflow_inputs build on comfy_server, so the fixture closure carries it to their tests too.
SERVER_FIXTURES = frozenset({"comfy_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``server`` every test whose fixtures, directly or through other fixtures, include a server fixture.

    Marking by fixture rather than by hand keeps new server tests out of the quick subset without anyone
    remembering to mark them. This conftest's hook runs before pytest's own ``-m`` deselection.
    """
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


def require(path: Path) -> Path:
    """Skip the calling test with a clear message when a shared fixture is absent."""
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent (tests read ../shared in place)")
    return path


@pytest.fixture(scope="session")
def conformance_dir() -> Path:
    return require(CONFORMANCE)


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    return require(ASSETS)


@pytest.fixture(scope="session")
def golden(conformance_dir):
    from tests.support.golden import Golden

    return Golden(conformance_dir)


@pytest.fixture(scope="session")
def synthetic_weights(conformance_dir) -> Path:
    """Folder with the five official-layout synthetic checkpoints (generated once, cached)."""
    out = CACHE / "weights"
    if not all((out / f).exists() for f in WEIGHT_FILES):
        # Generate next to the cache and rename, so parallel test processes never read half-written files.
        tmp = Path(tempfile.mkdtemp(prefix="weights-", dir=CACHE.mkdir(parents=True, exist_ok=True) or CACHE))
        subprocess.run(
            [sys.executable, str(conformance_dir / "make_weights.py"), str(tmp), "--check"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(out, ignore_errors=True)
        try:
            tmp.rename(out)
        except OSError:  # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    return out


from .support.comfy_server import comfy_server  # noqa: E402,F401  (session fixture: a real ComfyUI server with this pack)
