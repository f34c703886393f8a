"""The pack's model folders in ComfyUI's registry (``folder_paths``), so extra_model_paths.yaml can add places."""
from __future__ import annotations

import os
from pathlib import Path

from ..liveportrait_core.motion.templates import TEMPLATE_EXTENSIONS
from ..liveportrait_core.weights.checkpoints import PICKLE_SUFFIXES, SAFETENSORS_SUFFIX
from ..liveportrait_core.weights.files import WeightsNotFoundError, ensure_weights, find_weights
from .comfy import folder_paths

WEIGHTS = "liveportrait"  # models/liveportrait: the five checkpoints (flat or hub layout) and face-detector files
INSIGHTFACE = "insightface"  # models/insightface: buffalo_l as other face packs (and insightface itself) keep it
TEMPLATES = "liveportrait_templates"  # models/liveportrait_templates: motion templates (.pkl / .safetensors), expressions (.json)
EXPRESSION_SUFFIX = ".json"  # slider states of Save Expression
_EXTENSIONS = {WEIGHTS: {SAFETENSORS_SUFFIX, *PICKLE_SUFFIXES, ".onnx", ".task"}, TEMPLATES: {*TEMPLATE_EXTENSIONS, EXPRESSION_SUFFIX}}


def register_folders() -> None:
    """Add ``models/<name>`` with the pack's extensions, keeping folders extra_model_paths.yaml already added.

    Paths from the yaml file come first (downloads go to the first folder), the default one last.
    """
    for name, extensions in _EXTENSIONS.items():
        paths, known = folder_paths.folder_names_and_paths.get(name, ([], set()))
        default = os.path.join(folder_paths.models_dir, name)
        if default not in paths:
            paths.append(default)
        folder_paths.folder_names_and_paths[name] = (paths, set(known) | extensions)


def weights_folder(variant: str, download: bool) -> Path:
    """The first registered weights folder that holds a complete set of ``variant``.

    When none does, the missing files are downloaded into the first folder (if allowed); otherwise the
    error names every folder searched, the files expected and how to get them.
    """
    folders = [Path(p) for p in folder_paths.get_folder_paths(WEIGHTS)]
    for folder in folders:
        try:
            find_weights(folder, variant)
            return folder
        except WeightsNotFoundError:
            continue
    try:
        ensure_weights(folders[0], variant, download)
        return folders[0]
    except WeightsNotFoundError as err:
        if len(folders) == 1:
            raise
        others = ", ".join(str(f) for f in folders[1:])
        raise FileNotFoundError(f"{err}\nThe other '{WEIGHTS}' model folders hold no complete set either: {others}") from None


def detector_folders(backend: str) -> list[Path]:
    """Where ``backend``'s face-detector files are looked for, in order: the registered weights folders (the
    first is where missing files are downloaded), then for insightface the ``insightface`` folders, where other
    face packs keep ``buffalo_l`` (another pack's registered ones, and ``models/insightface``)."""
    folders = [Path(p) for p in folder_paths.get_folder_paths(WEIGHTS)]
    if backend == "insightface":
        registered, _ = folder_paths.folder_names_and_paths.get(INSIGHTFACE, ([], set()))
        default = os.path.join(folder_paths.models_dir, INSIGHTFACE)
        folders += [Path(p) for p in dict.fromkeys([*registered, default]) if Path(p) not in folders]
    return folders


def template_path(name: str) -> Path:
    """Full path of a template listed in the templates folders."""
    return Path(folder_paths.get_full_path_or_raise(TEMPLATES, name))


def template_files(suffixes: tuple[str, ...]) -> list[str]:
    """Names of the files in the templates folders that end in one of ``suffixes``."""
    return [name for name in folder_paths.get_filename_list(TEMPLATES) if name.lower().endswith(suffixes)]
