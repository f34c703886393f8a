"""Weights where users already have them (other ComfyUI packs, the official layout, this pack's downloads), and an
animals request that never loads human files: synthetic checkpoints, converted to safetensors by the core's converter."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from liveportrait_core.cli.convert import convert_to_safetensors
from liveportrait_core.networks import NETWORK_NAMES
from liveportrait_core.weights import files as model_files
from liveportrait_core.weights.checkpoints import STITCHING_GROUPS, read_state_dict
from liveportrait_core.weights.files import (AmbiguousWeightsError, WeightsNotFoundError, ensure_weights, find_weights,
                                             load_networks)
from tests.weights.test_checkpoints import FakeHub

F, M, W, G, S = NETWORK_NAMES
CNNS = (F, M, W, G)


@pytest.fixture(scope="module")
def kijai_files(synthetic_weights, tmp_path_factory) -> Path:
    """The five files as Kijai/LivePortrait_safetensors ships them: flat .safetensors, the stitching groups flattened
    as ``retarget_shoulder_module.mlp.0.weight`` (what ComfyUI-LivePortraitKJ's loader strips)."""
    out = tmp_path_factory.mktemp("kijai")
    convert_to_safetensors(synthetic_weights, out)
    ours_to_official = {ours: official for official, ours in STITCHING_GROUPS.items()}
    stitching = load_file(out / f"{S}.safetensors")
    save_file({f"{ours_to_official[k.split('.', 1)[0]]}_module.{k.split('.', 1)[1]}": v for k, v in stitching.items()},
              str(out / f"{S}.safetensors"))
    return out


def link(folder: Path, source: Path, layout: dict[str, str]) -> None:
    """Symlink ``source/<network><suffix>`` into ``folder`` at {network: relative path}."""
    for name, rel in layout.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).symlink_to(source / f"{name}{Path(rel).suffix}")


def flat(suffix: str, under: str = "") -> dict[str, str]:
    return {n: f"{under}{n}{suffix}" for n in NETWORK_NAMES}


def official(base: str, retargeting: str) -> dict[str, str]:
    return {**{n: f"{base}/{n}.pth" for n in CNNS}, S: f"{retargeting}/{S}.pth"}


def test_kijai_pack_human_flat_and_animal_subfolder_load(kijai_files, synthetic_weights, tmp_path):
    """ComfyUI-LivePortraitKJ: models/liveportrait/*.safetensors (human) and models/liveportrait/animal/ (animals)."""
    folder = tmp_path / "liveportrait"
    link(folder, kijai_files, flat(".safetensors"))
    link(folder, kijai_files, flat(".safetensors", under="animal/"))
    assert find_weights(folder, "human") == {n: folder / f"{n}.safetensors" for n in NETWORK_NAMES}
    assert find_weights(folder, "animals") == {n: folder / "animal" / f"{n}.safetensors" for n in NETWORK_NAMES}
    networks = load_networks(folder, "animals", download=False)
    expected = read_state_dict(synthetic_weights / f"{S}.pth")
    for key, value in networks.stitching.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    assert networks.variant == "animals"


def test_kijai_animal_folder_registered_on_its_own(kijai_files, tmp_path):
    """models/liveportrait/animal added as a folder of its own (extra_model_paths.yaml): its flat files are animals."""
    folder = tmp_path / "animal"
    link(folder, kijai_files, flat(".safetensors"))
    assert find_weights(folder, "animals")[G] == folder / f"{G}.safetensors"
    with pytest.raises(AmbiguousWeightsError, match="the folder's name says animals"):
        find_weights(folder, "human")


@pytest.mark.parametrize("variant, layout", [
    ("human", official("base_models", "retargeting_models")),  # ComfyUI-AdvancedLivePortrait, this pack's download
    ("human", official("liveportrait/base_models", "liveportrait/retargeting_models")),  # huggingface-cli download
    ("animals", official("liveportrait_animals/base_models_v1.1", "liveportrait/retargeting_models")),
    ("animals", official("base_models_v1.1", "retargeting_models")),  # this pack's download
])
def test_official_and_downloaded_layouts(synthetic_weights, tmp_path, variant, layout):
    folder = tmp_path / "liveportrait"
    link(folder, synthetic_weights, layout)
    assert find_weights(folder, variant) == {n: folder / rel for n, rel in layout.items()}


def test_official_animals_folder_without_its_top_level(synthetic_weights, tmp_path):
    """pretrained_weights/liveportrait_animals registered directly: bare base_models/ is the animals v1.0 folder there."""
    folder = tmp_path / "liveportrait_animals"
    layout = official("base_models", "retargeting_models")
    link(folder, synthetic_weights, layout)
    assert find_weights(folder, "animals") == {n: folder / rel for n, rel in layout.items()}


@pytest.mark.parametrize("human_layout", [flat(".safetensors"), official("base_models", "retargeting_models")],
                         ids=["flat", "bare base_models"])
def test_animals_never_load_human_files(synthetic_weights, kijai_files, tmp_path, human_layout):
    folder = tmp_path / "liveportrait"
    link(folder, kijai_files if human_layout[F].endswith(".safetensors") else synthetic_weights, human_layout)
    assert find_weights(folder, "human")[F] == folder / human_layout[F]
    for attempt in (lambda: find_weights(folder, "animals"), lambda: ensure_weights(folder, "animals", download=False)):
        with pytest.raises(AmbiguousWeightsError) as info:
            attempt()
        message = str(info.value)
        assert f"LivePortrait animals weights not found in {folder}" in message
        assert f"(e.g. {human_layout[F]})" in message and "not loaded as animals weights" in message
        assert f"put the animal files into {folder / 'animal'}/" in message
        assert f"{folder / 'liveportrait_animals/base_models_v1.1'}/" in message
        assert f"or put the five files into {folder / 'animal'}." in message


def test_animals_download_goes_beside_the_human_files(kijai_files, tmp_path, monkeypatch):
    hub = FakeHub()
    monkeypatch.setattr(model_files, "hf_hub_download", hub)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    folder = tmp_path / "liveportrait"
    link(folder, kijai_files, flat(".safetensors"))
    found = ensure_weights(folder, "animals")
    assert found[F] == folder / "base_models_v1.1" / f"{F}.pth" and found[S] == folder / "retargeting_models" / f"{S}.pth"
    assert len(hub.calls) == 5 and find_weights(folder, "human")[F] == folder / f"{F}.safetensors"


def test_an_incomplete_animal_subfolder_is_not_ambiguous(kijai_files, tmp_path):
    folder = tmp_path / "liveportrait"
    link(folder, kijai_files, {n: f"animal/{n}.safetensors" for n in CNNS})  # no stitching file
    with pytest.raises(WeightsNotFoundError) as info:
        find_weights(folder, "animals")
    assert type(info.value) is WeightsNotFoundError
    assert f"Closest: animal/ subfolder (ComfyUI-LivePortraitKJ, Kijai/LivePortrait_safetensors) has 4 of 5 files; " \
           f"missing {S}." in str(info.value)
