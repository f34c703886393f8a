"""Where the LivePortrait weights live, how they are downloaded, and loading all five networks at once.

Accepted layouts inside a weights folder, tried in this order (the first complete one wins; in each
place a ``.safetensors`` file is preferred over a ``.pth`` of the same name):

human
    ``liveportrait/base_models/*.pth`` + ``liveportrait/retargeting_models/stitching_retargeting_module.pth``
    (the hub repo KwaiVGI/LivePortrait as ``huggingface-cli download`` writes it, what the official code
    reads from ``pretrained_weights/``), the same with ``base_models/`` and ``retargeting_models/``
    directly in the folder (ComfyUI-AdvancedLivePortrait, and where this pack downloads), or the five
    files flat (ComfyUI-LivePortraitKJ's ``models/liveportrait/``).
animals
    ``liveportrait_animals/base_models_v1.1/`` (the official default since v1.1), then
    ``liveportrait_animals/base_models/`` (v1.0), each with the stitching file of
    ``liveportrait/retargeting_models/`` (what the official animal pipeline loads: "use human
    temporarily") or else ``liveportrait_animals/retargeting_models/``; ``base_models_v1.1/`` (where
    this pack downloads), then ``base_models/``, with ``retargeting_models/`` directly in the folder; an
    ``animal/`` subfolder with the five files (ComfyUI-LivePortraitKJ, Kijai/LivePortrait_safetensors);
    or the five files flat.

The human and animal checkpoints have the same names and shapes, so nothing in a file tells them
apart: bare ``base_models/`` and flat files are *shared* layouts, which count only for the variant
the folder's own name gives (``animal`` in it: animals; otherwise human). An animals request in
``models/liveportrait`` therefore never loads the human files kept there flat; when such a folder
holds nothing else, :class:`AmbiguousWeightsError` says what was found and where animal files go.
"""
from __future__ import annotations

import os
import tempfile
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
    """One accepted arrangement: the folder of the four CNNs and the candidate folders of the stitching file.

    shared: human and animal files look the same here, so the layout counts only in a folder whose
    name gives this variant (see :func:`folder_variant`).
    """

    description: str
    base: str
    retargeting: tuple[str, ...]
    shared: bool = False

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

    def complete(self, folder: Path) -> dict[str, Path] | None:
        """Network name -> file when all five are here, else None."""
        found = self.locate_all(folder)
        return found if all(found.values()) else None


_HUMAN_HUB = ("liveportrait/retargeting_models",)
_ANIMAL_HUB = ("liveportrait/retargeting_models", "liveportrait_animals/retargeting_models")
HUMAN_HUB = Layout(f"hub layout ({HUB_REPO_ID})", "liveportrait/base_models", _HUMAN_HUB)
HUMAN_BARE = Layout("hub layout without the liveportrait/ level (ComfyUI-AdvancedLivePortrait, this pack's downloads)",
                    "base_models", ("retargeting_models",), shared=True)
ANIMALS_HUB = Layout(f"hub layout, animals v1.1 ({HUB_REPO_ID})", "liveportrait_animals/base_models_v1.1", _ANIMAL_HUB)
ANIMALS_BARE = Layout("hub layout without the liveportrait_animals/ level, v1.1 (this pack's downloads)",
                      "base_models_v1.1", ("retargeting_models",))
FLAT = Layout("flat layout", "", ("",), shared=True)
LAYOUTS: dict[str, tuple[Layout, ...]] = {
    "human": (HUMAN_HUB, HUMAN_BARE, FLAT),
    "animals": (
        ANIMALS_HUB,
        Layout(f"hub layout, animals v1.0 ({HUB_REPO_ID})", "liveportrait_animals/base_models", _ANIMAL_HUB),
        ANIMALS_BARE,
        Layout("hub layout without the liveportrait_animals/ level, v1.0", "base_models", ("retargeting_models",),
               shared=True),
        Layout("animal/ subfolder (ComfyUI-LivePortraitKJ, Kijai/LivePortrait_safetensors)", "animal", ("animal",)),
        FLAT,
    ),
}
# Where downloads go: the hub's files without its top level, so human ones land in base_models/ and
# retargeting_models/, which ComfyUI-AdvancedLivePortrait reads too; animals beside them in
# base_models_v1.1/, sharing the stitching file as the official animal pipeline does.
_HUB_FILES = {"human": HUMAN_HUB, "animals": ANIMALS_HUB}
_DOWNLOAD_LAYOUTS = {"human": HUMAN_BARE, "animals": ANIMALS_BARE}
ANIMAL_FOLDER_HINT = "animal"  # a folder whose name contains this holds animal files in the shared layouts


def folder_variant(folder: Path) -> str:
    """The variant the shared layouts of ``folder`` hold: animals when its name contains "animal", else human."""
    return "animals" if ANIMAL_FOLDER_HINT in folder.name.lower() else "human"


def usable_layouts(folder: Path, variant: str) -> tuple[Layout, ...]:
    """The layouts of ``variant`` that count in ``folder``: its own ones, and the shared ones if the folder's name agrees."""
    return tuple(layout for layout in LAYOUTS[variant] if not layout.shared or folder_variant(folder) == variant)


def _misread_layout(folder: Path, variant: str) -> tuple[Layout, dict[str, Path]] | None:
    """A shared layout of ``variant`` complete in ``folder`` but left out because the folder's name says the other variant."""
    if folder_variant(folder) == variant:
        return None
    for layout in LAYOUTS[variant]:
        if layout.shared and (found := layout.complete(folder)):
            return layout, found
    return None


class WeightsNotFoundError(FileNotFoundError):
    """No accepted layout in the folder holds all five files; the message says what was expected and how to get it."""

    def __init__(self, folder: Path, variant: str, reason: str = ""):
        self.folder, self.variant = folder, variant
        super().__init__(_not_found_message(folder, variant, reason))


class AmbiguousWeightsError(WeightsNotFoundError):
    """The folder holds five files only in a layout human and animal weights share, and its name says the other variant.

    Raised instead of loading them: the files could be either, and taking human weights for animals
    (or the reverse) would animate with the wrong model without a word. The message names the files
    found and where the requested variant's files go.
    """


def _not_found(folder: Path, variant: str, reason: str = "") -> WeightsNotFoundError:
    """The error for a folder without a usable complete set: ambiguous when a left-out shared layout is complete."""
    error = AmbiguousWeightsError if _misread_layout(folder, variant) else WeightsNotFoundError
    return error(folder, variant, reason)


def _not_found_message(folder: Path, variant: str, reason: str) -> str:
    lines = [f"LivePortrait {variant} weights not found in {folder}" + (f" ({reason})" if reason else "") + ".",
             *_ambiguity_lines(folder, variant),
             "Accepted layouts, tried in this order (any file may also be .safetensors; ' | ' separates alternatives):"]
    for layout in LAYOUTS[variant]:
        lines.append(f"  {layout.description}{_shared_note(layout, variant)}:")
        lines += [f"    {' | '.join(c + _HUB_SUFFIX for c in layout.candidates(name))}" for name in NETWORK_NAMES]
    lines += _closest_match(folder, variant)
    hub_files = " ".join(download_paths(variant))
    lines += ["To get them: allow the automatic download (needs access to huggingface.co), or run",
              f"  huggingface-cli download {HUB_REPO_ID} {hub_files} --local-dir {folder}",
              f"or {_by_hand(folder, variant)}."]
    return "\n".join(lines)


def _by_hand(folder: Path, variant: str) -> str:
    """Where to put the five files by hand so that they count for ``variant`` in ``folder``."""
    if FLAT in usable_layouts(folder, variant):
        return f"put the five files directly into {folder}"
    if variant == "animals":
        return f"put the five files into {folder / 'animal'}"
    return f"put the five files into a folder whose name does not contain '{ANIMAL_FOLDER_HINT}'"


def _shared_note(layout: Layout, variant: str) -> str:
    """For a shared layout: in which folders it counts for ``variant``."""
    if not layout.shared:
        return ""
    where = "contains" if variant == "animals" else "does not contain"
    return f" (only in a folder whose name {where} '{ANIMAL_FOLDER_HINT}': human and animal files look the same here)"


def _ambiguity_lines(folder: Path, variant: str) -> list[str]:
    """What a left-out shared layout holds, why it is not loaded, and where the requested files go."""
    misread = _misread_layout(folder, variant)
    if misread is None:
        return []
    layout, found = misread
    other = "human" if variant == "animals" else "animals"
    example = found[NETWORK_NAMES[0]].relative_to(folder)
    if variant == "animals":
        where = (f"put the animal files into {folder / 'animal'}/ (the five files, as ComfyUI-LivePortraitKJ keeps "
                 f"them) or {folder / ANIMALS_HUB.base}/ (the hub layout), or into a folder of their own "
                 f"whose name contains '{ANIMAL_FOLDER_HINT}'")
    else:
        where = (f"put the human files into {folder / HUMAN_HUB.base}/ (the hub layout), or into a folder "
                 f"of their own whose name does not contain '{ANIMAL_FOLDER_HINT}'")
    return [f"It holds the five files in the {layout.description} (e.g. {example}), but human and animal "
            f"checkpoints look the same there and the folder's name says {other}, so they are not loaded as {variant} "
            f"weights.", f"To use {variant} weights: {where}."]


def _closest_match(folder: Path, variant: str) -> list[str]:
    """One line naming the most complete usable layout and what it lacks, if any file was found at all."""
    scans = [(layout, layout.locate_all(folder)) for layout in usable_layouts(folder, variant)]
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
    return tuple(_HUB_FILES[variant].candidates(name)[0] + _HUB_SUFFIX for name in NETWORK_NAMES)


def download_layout(folder: Path, variant: str) -> Layout:
    """Where ``ensure_weights`` puts downloaded files: ``base_models/`` + ``retargeting_models/`` for human
    (the hub's prefixed layout in a folder named for animals, where that shared layout would not count),
    ``base_models_v1.1/`` + ``retargeting_models/`` for animals."""
    layout = _DOWNLOAD_LAYOUTS[variant]
    return layout if layout in usable_layouts(folder, variant) else _HUB_FILES[variant]


def find_weights(folder: str | Path, variant: str = "human") -> dict[str, Path]:
    """Network name -> file, from the first complete layout that counts in ``folder`` (see :func:`usable_layouts`).

    Otherwise ``WeightsNotFoundError``, or ``AmbiguousWeightsError`` when the folder holds the other variant's
    files in a shared layout.
    """
    _check_variant(variant)
    folder = Path(folder)
    for layout in usable_layouts(folder, variant):
        if found := layout.complete(folder):
            return found
    raise _not_found(folder, variant)


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set to a true value (read now, so a late setting counts too)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def ensure_weights(folder: str | Path, variant: str = "human", download: bool = True) -> dict[str, Path]:
    """Like ``find_weights``, but first downloads the missing files into ``folder`` (see :func:`download_layout`).

    Without ``download`` or with ``HF_HUB_OFFLINE`` set, or when a download fails, raises
    ``WeightsNotFoundError`` (``AmbiguousWeightsError`` where :func:`find_weights` would). Files of the
    other variant in a shared layout stay as they are: the downloaded files go beside them.
    """
    folder = Path(folder)
    try:
        return find_weights(folder, variant)
    except WeightsNotFoundError:
        if not download:
            raise _not_found(folder, variant, "automatic download is off") from None
        if hub_offline():
            raise _not_found(folder, variant, "HF_HUB_OFFLINE is set, so nothing is downloaded") from None
    _download_missing(folder, variant)
    return find_weights(folder, variant)


def _download_missing(folder: Path, variant: str) -> None:
    """Fetch from the hub each file the download layout lacks, into that layout in ``folder``."""
    layout = download_layout(folder, variant)
    for name, filename in zip(NETWORK_NAMES, download_paths(variant)):
        if layout.locate(folder, name) is not None:
            continue
        try:
            _fetch(filename, folder / f"{layout.candidates(name)[0]}{_HUB_SUFFIX}")
        except Exception as err:  # network, HTTP and disk errors all end the same way for the user
            raise WeightsNotFoundError(folder, variant, f"downloading {filename} from {HUB_REPO_ID} failed: {err}") from err


def _fetch(filename: str, target: Path) -> None:
    """Download hub file ``filename`` to ``target`` through a staging folder beside it (removed afterwards), so an
    interrupted download leaves no partial file under a name the search accepts."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=target.parent) as staging:
        os.replace(hf_hub_download(repo_id=HUB_REPO_ID, filename=filename, local_dir=staging), target)


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
