"""The nodes' model folders without a server: ComfyUI's registry (``nodes.comfy.folder_paths``) stood in for, so the
search order over registered folders is checked directly (the weights, and insightface's buffalo_l in
``models/insightface``, where other face packs keep it)."""
from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType, SimpleNamespace

import pytest

from liveportrait_core.networks import NETWORK_NAMES
from liveportrait_core.weights.files import AmbiguousWeightsError
from tests.support.comfy_server import REPO


PACK = "lpk_under_test"  # the repository as ComfyUI imports it: a package whose nodes/ import ..liveportrait_core


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """``nodes.folders`` over a stand-in ``folder_paths`` with ``tmp_path/models`` as ComfyUI's models folder.

    The pack is mounted as package ``PACK`` with ``liveportrait_core`` aliased to the one already imported, so the
    errors raised are the classes the tests import.
    """
    import liveportrait_core.motion.templates  # noqa: F401  (what nodes.folders imports: loaded before aliasing)
    import liveportrait_core.weights.files  # noqa: F401

    registry: dict[str, tuple[list[str], set[str]]] = {}
    comfy = ModuleType(f"{PACK}.nodes.comfy")
    comfy.folder_paths = SimpleNamespace(models_dir=str(tmp_path / "models"), folder_names_and_paths=registry,
                                         get_folder_paths=lambda name: list(registry[name][0]))
    pack = ModuleType(PACK)
    pack.__path__ = [str(REPO)]
    aliases = {f"{PACK}.{name}": module for name, module in sys.modules.items() if name.startswith("liveportrait_core")}
    for name, module in {PACK: pack, f"{PACK}.nodes.comfy": comfy, **aliases}.items():
        monkeypatch.setitem(sys.modules, name, module)
    module = importlib.import_module(f"{PACK}.nodes.folders")
    module.register_folders()
    yield module
    for name in [n for n in sys.modules if n.startswith(f"{PACK}.")]:
        sys.modules.pop(name)


def test_insightface_folders_follow_the_weights_folders(folders, tmp_path):
    models = tmp_path / "models"
    assert folders.detector_folders("mediapipe") == [models / "liveportrait"]
    assert folders.detector_folders("insightface") == [models / "liveportrait", models / "insightface"]
    # another face pack registered its own insightface folders: they come first, models/insightface still counts
    folders.folder_paths.folder_names_and_paths["insightface"] = ([str(tmp_path / "faces")], {".onnx"})
    assert folders.detector_folders("insightface") == [models / "liveportrait", tmp_path / "faces", models / "insightface"]


def test_animals_from_the_kijai_subfolder_of_a_later_folder(folders, tmp_path):
    """Two weights folders (extra_model_paths.yaml first): human files flat in the first, kijai's animal/ in the second.
    Animals skip the first folder's human files and come from the second's animal/; human ones from the first."""
    first, second = tmp_path / "data" / "liveportrait", tmp_path / "models" / "liveportrait"
    folders.folder_paths.folder_names_and_paths["liveportrait"][0].insert(0, str(first))
    for folder in (first, second / "animal"):
        folder.mkdir(parents=True)
        for name in NETWORK_NAMES:
            (folder / f"{name}.safetensors").write_bytes(b"x")
    assert folders.weights_folder("human", download=False) == first
    assert folders.weights_folder("animals", download=False) == second


def test_animals_with_only_human_files_name_the_folder(folders, tmp_path):
    folder = tmp_path / "models" / "liveportrait"
    folder.mkdir(parents=True)
    for name in NETWORK_NAMES:
        (folder / f"{name}.safetensors").write_bytes(b"x")
    with pytest.raises(AmbiguousWeightsError, match=re.escape(f"put the animal files into {folder / 'animal'}/")):
        folders.weights_folder("animals", download=False)
