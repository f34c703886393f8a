"""Where the face-detector model files live and how they are fetched.

Each file is looked up in a caller-chosen folder at its download path (the hub's layout, e.g.
``insightface/models/buffalo_l/det_10g.onnx``) or directly in the folder. Missing files are
downloaded unless downloading is off or ``HF_HUB_OFFLINE`` is set; otherwise
:class:`FaceModelsNotFoundError` names the folder, every expected file and how to get it.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import hf_hub_download

from ..weights.files import HUB_REPO_ID, hub_offline


@dataclass(frozen=True)
class ModelFile:
    """One downloadable model file: its path inside the folder and where it comes from.

    url: a plain https URL, or None for a file of the LivePortrait hub repo (``HUB_REPO_ID``).
    sha256: checked after a URL download (hub downloads are checked by the hub client).
    """

    path: str
    url: str | None = None
    sha256: str | None = None

    def locate(self, folder: Path) -> Path | None:
        """The existing file at its download path or directly in ``folder``, or None."""
        for candidate in (folder / self.path, folder / Path(self.path).name):
            if candidate.is_file():
                return candidate
        return None

    def how_to_get(self, folder: Path) -> str:
        if self.url is None:
            return f"huggingface-cli download {HUB_REPO_ID} {self.path} --local-dir {folder}"
        return f"download {self.url} to {folder / self.path}"


class FaceModelsNotFoundError(FileNotFoundError):
    """Model files of a detector backend are missing; the message names the folder and each file."""

    def __init__(self, backend: str, folder: Path, files: tuple[ModelFile, ...], reason: str = ""):
        self.backend, self.folder = backend, folder
        missing = [f for f in files if f.locate(folder) is None]
        lines = [f"{backend} face-detector files not found in {folder}" + (f" ({reason})" if reason else "") + ".",
                 "Expected (at this path or directly in the folder):"]
        lines += [f"  {folder / f.path}" + ("" if f in missing else "  (present)") for f in files]
        lines += ["To get them: allow the automatic download, or run"]
        lines += [f"  {f.how_to_get(folder)}" for f in missing]
        super().__init__("\n".join(lines))


def ensure_model_files(backend: str, folder: str | Path, files: tuple[ModelFile, ...],
                       download: bool = True) -> list[Path]:
    """Paths of ``files`` in ``folder`` (same order), downloading the missing ones when allowed."""
    folder = Path(folder)
    found = [f.locate(folder) for f in files]
    if all(found):
        return found
    if not download:
        raise FaceModelsNotFoundError(backend, folder, files, "automatic download is off")
    if hub_offline():
        raise FaceModelsNotFoundError(backend, folder, files, "HF_HUB_OFFLINE is set, so nothing is downloaded")
    for f, path in zip(files, found):
        if path is None:
            try:
                _download(f, folder)
            except Exception as err:  # network, HTTP, checksum and disk errors end the same way for the user
                raise FaceModelsNotFoundError(backend, folder, files, f"downloading {f.path} failed: {err}") from err
    return [f.locate(folder) for f in files]


def _download(f: ModelFile, folder: Path) -> None:
    if f.url is None:
        hf_hub_download(repo_id=HUB_REPO_ID, filename=f.path, local_dir=folder)
        return
    target = folder / f.path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(f.url, timeout=60) as response:
            digest = hashlib.sha256()
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
        if f.sha256 is not None and digest.hexdigest() != f.sha256:
            raise ValueError(f"sha256 {digest.hexdigest()} != expected {f.sha256}")
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
