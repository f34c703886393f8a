"""Where the face-detector model files live and how they are fetched.

Each file is looked up in each of a caller-chosen list of folders, in order: at its download path
(the hub's layout, e.g. ``insightface/models/buffalo_l/det_10g.onnx``), at the paths other tools keep
it under (``also``: insightface's own ``models/buffalo_l/``), or directly in the folder. Missing files
are downloaded into the first folder unless downloading is off or ``HF_HUB_OFFLINE`` is set; otherwise
:class:`FaceModelsNotFoundError` names the folders, every expected file and how to get it.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import hf_hub_download

from ..weights.files import HUB_REPO_ID, hub_offline


@dataclass(frozen=True)
class ModelFile:
    """One downloadable model file: its path inside the folder and where it comes from.

    url: a plain https URL, or None for a file of the LivePortrait hub repo (``HUB_REPO_ID``).
    sha256: checked after a URL download (hub downloads are checked by the hub client).
    also: other paths inside a folder where other tools keep the same file.
    """

    path: str
    url: str | None = None
    sha256: str | None = None
    also: tuple[str, ...] = ()

    def locate(self, folder: Path) -> Path | None:
        """The existing file at its download path, one of ``also``, or directly in ``folder``; else None."""
        for relative in (self.path, *self.also, Path(self.path).name):
            if (folder / relative).is_file():
                return folder / relative
        return None

    def locate_in(self, folders: Sequence[Path]) -> Path | None:
        """The file in the first of ``folders`` that holds it, or None."""
        return next((path for folder in folders if (path := self.locate(folder)) is not None), None)

    def how_to_get(self, folder: Path) -> str:
        if self.url is None:
            return f"huggingface-cli download {HUB_REPO_ID} {self.path} --local-dir {folder}"
        return f"download {self.url} to {folder / self.path}"


Folders = str | Path | Sequence[str | Path]  # one folder, or several searched in order (downloads go to the first)


def as_folders(folders: Folders) -> list[Path]:
    """``folders`` as a non-empty list of paths."""
    paths = [Path(folders)] if isinstance(folders, (str, Path)) else [Path(f) for f in folders]
    if not paths:
        raise ValueError("no folder given to look for the face-detector files in")
    return paths


class FaceModelsNotFoundError(FileNotFoundError):
    """Model files of a detector backend are missing; the message names the folders and each file."""

    def __init__(self, backend: str, folders: Folders, files: tuple[ModelFile, ...], reason: str = ""):
        folders = as_folders(folders)
        self.backend, self.folder = backend, folders[0]
        missing = [f for f in files if f.locate_in(folders) is None]
        lines = [f"{backend} face-detector files not found in {self.folder}" + (f" ({reason})" if reason else "") + "."]
        if len(folders) > 1:
            lines.append(f"Also searched: {', '.join(str(f) for f in folders[1:])}.")
        lines.append("Expected (at this path or directly in the folder):")
        lines += [f"  {self.folder / f.path}" + ("" if f in missing else "  (present)") for f in files]
        lines += ["To get them: allow the automatic download, or run"]
        lines += [f"  {f.how_to_get(self.folder)}" for f in missing]
        super().__init__("\n".join(lines))


def ensure_model_files(backend: str, folders: Folders, files: tuple[ModelFile, ...],
                       download: bool = True) -> list[Path]:
    """Paths of ``files`` (same order), each from the first of ``folders`` holding it; the missing ones are
    downloaded into the first folder when allowed."""
    folders = as_folders(folders)
    found = [f.locate_in(folders) for f in files]
    if all(found):
        return found
    if not download:
        raise FaceModelsNotFoundError(backend, folders, files, "automatic download is off")
    if hub_offline():
        raise FaceModelsNotFoundError(backend, folders, files, "HF_HUB_OFFLINE is set, so nothing is downloaded")
    for f, path in zip(files, found):
        if path is None:
            try:
                _download(f, folders[0])
            except Exception as err:  # network, HTTP, checksum and disk errors end the same way for the user
                raise FaceModelsNotFoundError(backend, folders, files, f"downloading {f.path} failed: {err}") from err
    return [f.locate_in(folders) for f in files]


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
