"""Slider states as JSON files: saving and loading, with a format name and version."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .sliders import SLIDERS, ExpressionSliders

SLIDERS_FORMAT = "liveportrait-sliders"
SLIDERS_FORMAT_VERSION = 1


def save_sliders(sliders: ExpressionSliders, path: str | Path, metadata: Mapping[str, Any] | None = None) -> Path:
    """Write a slider state as JSON: format name and version, every slider value, and ``metadata``
    (any JSON-serialisable dict, e.g. a name or the source it was made for)."""
    path = Path(path)
    document = {"format": SLIDERS_FORMAT, "format_version": SLIDERS_FORMAT_VERSION,
                "sliders": sliders.to_dict(), "metadata": dict(metadata or {})}
    try:
        text = json.dumps(document, indent=1)
    except TypeError as exc:
        raise ValueError(f"{path}: metadata is not JSON-serialisable ({exc})") from exc
    path.write_text(text + "\n")
    return path


def load_sliders(path: str | Path) -> tuple[ExpressionSliders, dict[str, Any]]:
    """Read a file of :func:`save_sliders`: the slider state and its metadata.

    Sliders absent from the file keep their neutral value; unknown names and out-of-range values are errors.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != SLIDERS_FORMAT:
        raise ValueError(f"{path}: not a slider file (expected 'format': {SLIDERS_FORMAT!r})")
    version = document.get("format_version")
    if not isinstance(version, int) or version > SLIDERS_FORMAT_VERSION:
        raise ValueError(f"{path}: format version {version!r} is not supported (this version reads up to {SLIDERS_FORMAT_VERSION})")
    values, metadata = document.get("sliders", {}), document.get("metadata", {})
    if not isinstance(values, dict) or not isinstance(metadata, dict):
        raise ValueError(f"{path}: 'sliders' and 'metadata' must be JSON objects")
    unknown = sorted(set(values) - set(SLIDERS))
    if unknown:
        raise ValueError(f"{path}: unknown sliders {unknown}; known: {list(SLIDERS)}")
    try:
        return ExpressionSliders(**values), metadata
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc

