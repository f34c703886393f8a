"""Where the LivePortrait weights live, how they are downloaded, and loading all five networks at once.

Accepted layouts inside a weights folder, tried in this order (the first complete one wins; in each
place a ``.safetensors`` file is preferred over a ``.pth`` of the same name):

human
    ``liveportrait/base_models/*.pth`` + ``liveportrait/retargeting_models/stitching_retargeting_module.pth``
    (the hub repo KwaiVGI/LivePortrait as ``huggingface-cli download`` writes it), the same with
    ``base_models/`` and ``retargeting_models/`` directly in the folder, or the five files flat.
animals
    ``liveportrait_animals/base_models_v1.1/`` (the official default since v1.1), then
    ``liveportrait_animals/base_models/`` (v1.0), each with the stitching file of
    ``liveportrait/retargeting_models/`` (what the official animal pipeline loads: "use human
    temporarily") or else ``liveportrait_animals/retargeting_models/``; the same two base folders
    with ``retargeting_models/`` directly in the folder; an ``animal/`` subfolder with the five
    files (Kijai/LivePortrait_safetensors); or the five files flat.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from huggingface_hub import hf_hub_download
from torch import nn

from ..networks import NETWORK_NAMES
from .checkpoints import SAFETENSORS_SUFFIX, load_network

HUB_REPO_ID = "KwaiVGI/LivePortrait"
VARIANTS = ("human", "animals")
STITCHING = "stitching_retargeting_module"
_SUFFIXES = (SAFETENSORS_SUFFIX, ".pth")  # preference order within one place
_HUB_SUFFIX = ".pth"  # what the hub repo ships


@dataclass(frozen=True)
class Layout:
    """One accepted arrangement: the folder of the four CNNs and the candidate folders of the stitching file."""

    description: str
    base: str
    retargeting: tuple[str, ...]

    def candidates(self, name: str) -> tuple[str, ...]:
        """Relative paths without suffix where network ``name`` may be, in preference order."""
        folders = self.retargeting if name == STITCHING else (self.base,)
        return tuple(f"{folder}/{name}" if folder else name for folder in folders)

    def locate(self, folder: Path, name: str) -> Path | None:
        """The existing file for ``name`` under ``folder``, or None."""
        for stem in self.candidates(name):
            for suffix in _SUFFIXES:
                path = folder / f"{stem}{suffix}"
                if path.is_file():
                    return path
        return None

    def locate_all(self, folder: Path) -> dict[str, Path | None]:
        """Network name -> existing file or None, for all five networks."""
        return {name: self.locate(folder, name) for name in NETWORK_NAMES}


_HUMAN_HUB = ("liveportrait/retargeting_models",)
_ANIMAL_HUB = ("liveportrait/retargeting_models", "liveportrait_animals/retargeting_models")
LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "human": (
        Layout(f"hub layout ({HUB_REPO_ID})", "liveportrait/base_models", _HUMAN_HUB),
        Layout("hub layout without the liveportrait/ level", "base_models", ("retargeting_models",)),
        Layout("flat layout", "", ("",)),
    ),
    "animals": (
        Layout(f"hub layout, animals v1.1 ({HUB_REPO_ID})", "liveportrait_animals/base_models_v1.1", _ANIMAL_HUB),
        Layout(f"hub layout, animals v1.0 ({HUB_REPO_ID})", "liveportrait_animals/base_models", _ANIMAL_HUB),
        Layout("hub layout without the liveportrait_animals/ level, v1.1", "base_models_v1.1", ("retargeting_models",)),
        Layout("hub layout without the liveportrait_animals/ level, v1.0", "base_models", ("retargeting_models",)),
        Layout("animal/ subfolder (Kijai/LivePortrait_safetensors)", "animal", ("animal",)),
        Layout("flat layout", "", ("",)),
    ),
}


class WeightsNotFoundError(FileNotFoundError):
    """No accepted layout in the folder holds all five files; the message says what was expected and how to get it."""

    def __init__(self, folder: Path, variant: str, reason: str = ""):
        self.folder, self.variant = folder, variant
        super().__init__(_not_found_message(folder, variant, reason))


def _not_found_message(folder: Path, variant: str, reason: str) -> str:
    lines = [f"LivePortrait {variant} weights not found in {folder}" + (f" ({reason})" if reason else "") + ".",
             "Accepted layouts, tried in this order (any file may also be .safetensors; ' | ' separates alternatives):"]
    for layout in LAYOUTS[variant]:
        lines.append(f"  {layout.description}:")
        lines += [f"    {' | '.join(c + _HUB_SUFFIX for c in layout.candidates(name))}" for name in NETWORK_NAMES]
    lines += _closest_match(folder, variant)
    hub_files = " ".join(download_paths(variant))
    lines += ["To get them: allow the automatic download (needs access to huggingface.co), or run",
              f"  huggingface-cli download {HUB_REPO_ID} {hub_files} --local-dir {folder}",
              f"or put the five files directly into {folder}."]
    return "\n".join(lines)


def _closest_match(folder: Path, variant: str) -> list[str]:
    """One line naming the most complete layout and what it lacks, if any file was found at all."""
    scans = [(layout, layout.locate_all(folder)) for layout in LAYOUTS[variant]]
    layout, found = max(scans, key=lambda scan: sum(path is not None for path in scan[1].values()))
    missing = [name for name, path in found.items() if path is None]
    if len(missing) == len(found):
        return []
    return [f"Closest: {layout.description} has {len(found) - len(missing)} of {len(found)} files; "
            f"missing {', '.join(missing)}."]


def _check_variant(variant: str) -> None:
    if variant not in LAYOUTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")


def download_paths(variant: str = "human") -> tuple[str, ...]:
    """Paths inside the hub repo of the five files that ``ensure_weights`` downloads."""
    _check_variant(variant)
    layout = LAYOUTS[variant][0]
    return tuple(layout.candidates(name)[0] + _HUB_SUFFIX for name in NETWORK_NAMES)


def find_weights(folder: str | Path, variant: str = "human") -> dict[str, Path]:
    """Network name -> file, from the first complete accepted layout; ``WeightsNotFoundError`` otherwise."""
    _check_variant(variant)
    folder = Path(folder)
    for layout in LAYOUTS[variant]:
        found = layout.locate_all(folder)
        if all(found.values()):
            return found
    raise WeightsNotFoundError(folder, variant)


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (read now, so a late setting counts too)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def ensure_weights(folder: str | Path, variant: str = "human", download: bool = True) -> dict[str, Path]:
    """Like ``find_weights``, but first downloads the missing hub-layout files into ``folder``.

    Without ``download`` or with ``HF_HUB_OFFLINE`` set, or when a download fails, raises
    ``WeightsNotFoundError``.
    """
    folder = Path(folder)
    try:
        return find_weights(folder, variant)
    except WeightsNotFoundError:
        if not download:
            raise WeightsNotFoundError(folder, variant, "automatic download is off") from None
        if hub_offline():
            raise WeightsNotFoundError(folder, variant, "HF_HUB_OFFLINE is set, so nothing is downloaded") from None
    _download_missing(folder, variant)
    return find_weights(folder, variant)


def _download_missing(folder: Path, variant: str) -> None:
    """Fetch from the hub each file the preferred layout lacks, into ``folder`` (hub paths kept)."""
    layout = LAYOUTS[variant][0]
    for name, filename in zip(NETWORK_NAMES, download_paths(variant)):
        if layout.locate(folder, name) is not None:
            continue
        try:
            hf_hub_download(repo_id=HUB_REPO_ID, filename=filename, local_dir=folder)
        except Exception as err:  # network, HTTP and disk errors all end the same way for the user
            raise WeightsNotFoundError(folder, variant, f"downloading {filename} from {HUB_REPO_ID} failed: {err}") from err


# field of LivePortraitNetworks -> network name
_FIELDS: dict[str, str] = {
    "appearance": "appearance_feature_extractor",
    "motion": "motion_extractor",
    "warping": "warping_module",
    "generator": "spade_generator",
    "stitching": STITCHING,
}


@dataclass
class LivePortraitNetworks:
    """The five loaded networks of one variant."""

    appearance: nn.Module
    motion: nn.Module
    warping: nn.Module
    generator: nn.Module
    stitching: nn.Module
    variant: str

    def parameter_counts(self) -> dict[str, int]:
        """Network name -> number of parameter elements (buffers excluded, as in the published table)."""
        return {name: sum(p.numel() for p in getattr(self, field).parameters()) for field, name in _FIELDS.items()}


def load_networks(folder: str | Path, variant: str = "human", device: torch.device | str | None = None,
                  dtype: torch.dtype | None = None, download: bool = True) -> LivePortraitNetworks:
    """All five networks of ``variant`` from ``folder`` (downloading missing files when allowed), loaded strictly."""
    files = ensure_weights(folder, variant, download)
    modules = {field: load_network(name, files[name], device, dtype) for field, name in _FIELDS.items()}
    return LivePortraitNetworks(**modules, variant=variant)
