"""Checkpoint reading, strict loading, safetensors conversion, weight discovery and download."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from liveportrait_core.cli.convert import convert_to_safetensors
from liveportrait_core.cli.convert import main as convert_main
from liveportrait_core.networks import NETWORK_NAMES
from liveportrait_core.weights import files as model_files
from liveportrait_core.weights.checkpoints import (
    CheckpointError,
    CheckpointMismatchError,
    expected_shapes,
    load_network,
    read_metadata,
    read_state_dict,
)
from liveportrait_core.weights.files import (
    HUB_REPO_ID,
    AmbiguousWeightsError,
    LivePortraitNetworks,
    WeightsNotFoundError,
    download_paths,
    ensure_weights,
    find_weights,
    load_networks,
)

F, M, W, G, S = NETWORK_NAMES
HUMAN_HUB = [f"liveportrait/base_models/{n}.pth" for n in (F, M, W, G)] + [f"liveportrait/retargeting_models/{S}.pth"]
ANIMAL_HUB = [f"liveportrait_animals/base_models_v1.1/{n}.pth" for n in (F, M, W, G)] + [
    f"liveportrait/retargeting_models/{S}.pth"]


def published_counts(conformance_dir: Path) -> dict[str, int]:
    """Manifest's n_parameter_elements per network (the stitching file's three groups summed)."""
    manifest = json.loads((conformance_dir / "manifest.json").read_text())["checkpoints"]
    counts = {n: manifest[f"{n}.pth"]["n_parameter_elements"] for n in NETWORK_NAMES}
    return {n: sum(c.values()) if isinstance(c, dict) else c for n, c in counts.items()}


def touch(folder: Path, relative_paths: list[str]) -> None:
    """Small placeholder files: discovery looks at names only."""
    for rel in relative_paths:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(b"x")


def link(folder: Path, weights: Path, layout: dict[str, str]) -> None:
    """Symlink synthetic checkpoints into ``folder`` as {network: relative path}."""
    for name, rel in layout.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).symlink_to(weights / f"{name}.pth")


def assert_same_tensors(a: dict, b: dict, **tol) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key].to(b[key].dtype), b[key], **tol, msg=key)


# --- strict loading of the synthetic official files ------------------------------------------


@pytest.fixture(scope="module")
def networks(synthetic_weights) -> LivePortraitNetworks:
    return load_networks(synthetic_weights, download=False)


def test_all_five_official_files_load_strictly(networks, synthetic_weights):
    assert networks.variant == "human"
    modules = [networks.appearance, networks.motion, networks.warping, networks.generator, networks.stitching]
    for name, module in zip(NETWORK_NAMES, modules):
        assert not module.training
        assert module.state_dict().keys() == expected_shapes(name).keys()
    for name, module in [(F, networks.appearance), (S, networks.stitching)]:
        file_state = read_state_dict(synthetic_weights / f"{name}.pth")
        assert all(torch.equal(v.flatten(), file_state[k].flatten()) for k, v in module.state_dict().items())


def test_parameter_counts_match_manifest(networks, conformance_dir):
    assert networks.parameter_counts() == published_counts(conformance_dir)


def test_nested_stitching_file_is_flattened_to_our_names(synthetic_weights):
    state = read_state_dict(synthetic_weights / f"{S}.pth")
    nested = torch.load(synthetic_weights / f"{S}.pth", weights_only=True)
    assert len(state) == 28
    assert torch.equal(state["stitching.mlp.0.weight"], nested["retarget_shoulder"]["module.mlp.0.weight"])
    assert torch.equal(state["eye.mlp.8.bias"], nested["retarget_eye"]["module.mlp.8.bias"])


def test_load_network_casts_to_requested_dtype(synthetic_weights):
    net = load_network(F, synthetic_weights / f"{F}.pth", device="cpu", dtype=torch.float16)
    state = net.state_dict()
    assert state["first.conv.weight"].dtype == torch.float16
    assert all(v.dtype == torch.int64 for k, v in state.items() if k.endswith("num_batches_tracked"))


# --- safetensors conversion ------------------------------------------------------------------


@pytest.mark.parametrize("name", [F, S])
def test_fp32_conversion_is_bit_exact(synthetic_weights, tmp_path, name):
    src = synthetic_weights / f"{name}.pth"
    (dst,) = convert_to_safetensors(src, tmp_path / "out.safetensors")
    assert_same_tensors(read_state_dict(dst), read_state_dict(src), rtol=0, atol=0)
    assert read_metadata(dst) == {"format": "pt", "network": name, "source_file": src.name, "dtype": "fp32"}
    assert_same_tensors(load_network(name, dst).state_dict(), load_network(name, src).state_dict(), rtol=0, atol=0)


# half an ulp relative, and half the smallest subnormal step absolute (fp16 flushes tiny biases to subnormals)
@pytest.mark.parametrize("dtype, torch_dtype, rtol, atol", [("fp16", torch.float16, 2**-11, 2**-25),
                                                           ("bf16", torch.bfloat16, 2**-8, 2**-134)],
                         ids=["fp16", "bf16"])
def test_low_precision_conversion_round_trip(synthetic_weights, tmp_path, dtype, torch_dtype, rtol, atol):
    src = synthetic_weights / f"{F}.pth"
    (dst,) = convert_to_safetensors(src, tmp_path, dtype)
    assert dst == tmp_path / f"{F}.safetensors"
    original, converted = read_state_dict(src), read_state_dict(dst)
    assert converted["first.conv.weight"].dtype == torch_dtype
    assert converted["first.norm.num_batches_tracked"].dtype == torch.int64
    assert read_metadata(dst)["dtype"] == dtype
    assert_same_tensors(converted, original, rtol=rtol, atol=atol)
    upcast = load_network(F, dst).state_dict()  # fp32 module: the stored values, upcast exactly
    stored = {k: v.float() for k, v in converted.items() if v.is_floating_point()}
    assert_same_tensors({k: upcast[k] for k in stored}, stored, rtol=0, atol=0)
    assert upcast["first.conv.weight"].dtype == torch.float32


def test_folder_conversion_keeps_layout_and_names(synthetic_weights, tmp_path):
    src = tmp_path / "src"
    link(src, synthetic_weights, {F: f"liveportrait/base_models/{F}.pth", S: f"liveportrait/retargeting_models/{S}.pth"})
    touch(src, ["liveportrait_animals/xpose.pth", "liveportrait/landmark.onnx"])  # not networks: skipped
    written = convert_to_safetensors(src, tmp_path / "out", "fp16")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        f"liveportrait/base_models/{F}.safetensors", f"liveportrait/retargeting_models/{S}.safetensors"]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == sorted(p.name for p in written)
    assert read_metadata(written[1])["network"] == S


def test_convert_cli(synthetic_weights, tmp_path, capsys):
    assert convert_main([str(synthetic_weights / f"{S}.pth"), str(tmp_path / "s.safetensors"), "--dtype", "bf16"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "s.safetensors")
    assert read_metadata(tmp_path / "s.safetensors")["dtype"] == "bf16"


@pytest.mark.parametrize("separator", ["_", "."])
def test_flattened_stitching_safetensors_naming(synthetic_weights, tmp_path, separator):
    """Kijai/LivePortrait_safetensors stores ``retarget_shoulder_module.mlp.0.weight`` etc. in one flat file."""
    nested = torch.load(synthetic_weights / f"{S}.pth", weights_only=True)
    flat = {f"{group}{separator}{key}": value for group, sub in nested.items() for key, value in sub.items()}
    save_file(flat, str(tmp_path / f"{S}.safetensors"), metadata={"format": "pt"})
    loaded = load_network(S, tmp_path / f"{S}.safetensors").state_dict()
    assert_same_tensors(loaded, read_state_dict(synthetic_weights / f"{S}.pth"), rtol=0, atol=0)


# --- broken checkpoints give clear errors ------------------------------------------------------


@pytest.fixture(scope="module")
def f_state(synthetic_weights) -> dict:
    return read_state_dict(synthetic_weights / f"{F}.pth")


def broken(tmp_path: Path, state: dict) -> Path:
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    return path


def mismatch(name: str, path: Path) -> CheckpointMismatchError:
    with pytest.raises(CheckpointMismatchError) as info:
        load_network(name, path)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert repr(name) in message and str(path) in message
    return info.value


def test_missing_key(f_state, tmp_path):
    state = dict(f_state)
    del state["first.conv.weight"]
    err = mismatch(F, broken(tmp_path, state))
    assert err.missing == ["first.conv.weight"] and not err.unexpected and not err.mismatched
    assert "missing keys (1): first.conv.weight" in str(err) and err.looks_like is None


def test_wrong_shape(f_state, tmp_path):
    state = dict(f_state, **{"first.conv.bias": torch.zeros(7)})
    expected = list(f_state["first.conv.bias"].shape)
    err = mismatch(F, broken(tmp_path, state))
    assert f"wrong shapes (1): first.conv.bias: expected {expected}, found [7]" in str(err)


def test_extra_key(f_state, tmp_path):
    err = mismatch(F, broken(tmp_path, dict(f_state, **{"extra.weight": torch.zeros(1)})))
    assert "unexpected keys (1): extra.weight" in str(err) and not err.missing


def test_missing_num_batches_tracked_is_reported(f_state, tmp_path):
    """PyTorch's strict load_state_dict fills a missing num_batches_tracked silently; we do not."""
    state = {k: v for k, v in f_state.items() if not k.endswith("num_batches_tracked")}
    dropped = [k for k in f_state if k.endswith("num_batches_tracked")]
    err = mismatch(F, broken(tmp_path, state))
    assert err.missing == dropped
    assert f"missing keys ({len(dropped)}): {dropped[0]}" in str(err) and f"(+{len(dropped) - 5} more)" in str(err)


def test_wrong_file_for_network_names_the_file_it_looks_like(synthetic_weights):
    err = mismatch(G, synthetic_weights / f"{W}.pth")
    assert err.looks_like == W and f"this looks like {W}.pth" in str(err)
    assert "missing keys (182)" in str(err) and "unexpected keys (97)" in str(err)


def test_stitching_file_for_appearance(synthetic_weights):
    assert mismatch(F, synthetic_weights / f"{S}.pth").looks_like == S


def test_unreadable_files(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "garbage.pth").write_bytes(b"not a zip")
    (tmp_path / "garbage.safetensors").write_bytes(b"not a header")
    for name, hint in [("tensor.pth", "expected a dict"), ("notes.txt", "unsupported"), ("garbage.pth", "not a readable"),
                       ("garbage.safetensors", "not a readable")]:
        with pytest.raises(CheckpointError, match=hint):
            read_state_dict(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        read_state_dict(tmp_path / "absent.pth")


# --- discovery ---------------------------------------------------------------------------------


def test_flat_layout_with_real_files(synthetic_weights):
    assert find_weights(synthetic_weights) == {n: synthetic_weights / f"{n}.pth" for n in NETWORK_NAMES}


def test_flat_layout_prefers_safetensors(tmp_path):
    touch(tmp_path, [f"{n}.pth" for n in NETWORK_NAMES] + [f"{W}.safetensors"])
    found = find_weights(tmp_path)
    assert found[W] == tmp_path / f"{W}.safetensors" and found[G] == tmp_path / f"{G}.pth"


@pytest.mark.parametrize("prefix", ["", "liveportrait/"])
def test_human_hub_layout(tmp_path, prefix):
    files = [f"{prefix}base_models/{n}.pth" for n in (F, M, W, G)] + [f"{prefix}retargeting_models/{S}.pth"]
    touch(tmp_path, files)
    assert find_weights(tmp_path, "human") == {n: tmp_path / f for n, f in zip(NETWORK_NAMES, files)}
    # bare base_models/ is also the animals v1.0 folder itself: in a folder not named for animals it is never
    # taken for animal weights, and the error says why
    with pytest.raises(AmbiguousWeightsError if not prefix else WeightsNotFoundError) as info:
        find_weights(tmp_path, "animals")
    assert type(info.value) is (AmbiguousWeightsError if not prefix else WeightsNotFoundError)


def test_animals_hub_layout_uses_the_human_stitching_file_like_the_official_pipeline(tmp_path):
    touch(tmp_path, ANIMAL_HUB + [f"liveportrait_animals/retargeting_models/{S}.pth"])
    assert find_weights(tmp_path, "animals") == {n: tmp_path / f for n, f in zip(NETWORK_NAMES, ANIMAL_HUB)}
    with pytest.raises(WeightsNotFoundError):
        find_weights(tmp_path, "human")  # liveportrait/base_models is absent


def test_animals_v10_layout_with_its_own_stitching_file(tmp_path):
    files = [f"liveportrait_animals/base_models/{n}.pth" for n in (F, M, W, G)] + [
        f"liveportrait_animals/retargeting_models/{S}.pth"]
    touch(tmp_path, files)
    assert find_weights(tmp_path, "animals") == {n: tmp_path / f for n, f in zip(NETWORK_NAMES, files)}


def test_comfyui_folder_with_human_flat_and_animal_subfolder(tmp_path):
    touch(tmp_path, [f"{n}.safetensors" for n in NETWORK_NAMES] + [f"animal/{n}.safetensors" for n in NETWORK_NAMES])
    assert find_weights(tmp_path, "human")[G] == tmp_path / f"{G}.safetensors"
    assert find_weights(tmp_path, "animals")[G] == tmp_path / "animal" / f"{G}.safetensors"


def test_incomplete_folder_names_folder_and_every_expected_file(tmp_path):
    touch(tmp_path, [f"{n}.pth" for n in (F, M, W, G)])
    with pytest.raises(WeightsNotFoundError) as info:
        find_weights(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert all(f"    {rel}\n" in message for rel in HUMAN_HUB)
    assert f"\n    {S}.pth\n" in message  # the flat-layout entry
    assert f"Closest: flat layout has 4 of 5 files; missing {S}." in message
    assert f"huggingface-cli download {HUB_REPO_ID} {' '.join(HUMAN_HUB)}" in message


def test_unknown_variant(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        find_weights(tmp_path, "cats")


# --- ensure_weights: offline and download paths -------------------------------------------------


class FakeHub:
    """Stands in for ``hf_hub_download``: records the calls and writes a small file where the hub would."""

    def __init__(self, fail: Exception | None = None):
        self.calls: list[tuple[str, str, Path]] = []
        self.fail = fail

    def __call__(self, *, repo_id: str, filename: str, local_dir: Path) -> str:
        self.calls.append((repo_id, filename, Path(local_dir)))
        if self.fail:
            raise self.fail
        target = Path(local_dir) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x")
        return str(target)


@pytest.fixture
def hub(monkeypatch) -> FakeHub:
    fake = FakeHub()
    monkeypatch.setattr(model_files, "hf_hub_download", fake)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return fake


@pytest.mark.parametrize("offline_by", ["env", "argument"])
def test_ensure_weights_offline_raises_without_downloading(tmp_path, hub, monkeypatch, offline_by):
    if offline_by == "env":
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError) as info:
        ensure_weights(tmp_path, "human", download=offline_by != "argument")
    assert not hub.calls
    message = str(info.value)
    assert str(tmp_path) in message and "huggingface-cli download" in message
    assert ("HF_HUB_OFFLINE" if offline_by == "env" else "download is off") in message
    assert all(n in message for n in NETWORK_NAMES)


HUMAN_DOWNLOADED = [f"base_models/{n}.pth" for n in (F, M, W, G)] + [f"retargeting_models/{S}.pth"]
ANIMAL_DOWNLOADED = [f"base_models_v1.1/{n}.pth" for n in (F, M, W, G)] + [f"retargeting_models/{S}.pth"]


@pytest.mark.parametrize("variant, hub_paths, landed", [("human", HUMAN_HUB, HUMAN_DOWNLOADED),
                                                        ("animals", ANIMAL_HUB, ANIMAL_DOWNLOADED)])
def test_ensure_weights_downloads_the_missing_hub_files(tmp_path, hub, variant, hub_paths, landed):
    """The hub's files land without its top level (base_models/ + retargeting_models/, what ComfyUI-AdvancedLivePortrait
    reads too; animals in base_models_v1.1/), through a staging folder that is gone afterwards."""
    folder = tmp_path / "liveportrait"
    touch(folder, [landed[0]])  # already there: not fetched again
    found = ensure_weights(folder, variant)
    assert download_paths(variant) == tuple(hub_paths)
    assert [(repo, rel) for repo, rel, _ in hub.calls] == [(HUB_REPO_ID, rel) for rel in hub_paths[1:]]
    assert all(local_dir.parent.parent == folder for _, _, local_dir in hub.calls)  # staged beside the target
    assert found == {n: folder / rel for n, rel in zip(NETWORK_NAMES, landed)}
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == sorted(landed)


def test_ensure_weights_keeps_a_complete_folder(synthetic_weights, hub):
    assert ensure_weights(synthetic_weights)[S] == synthetic_weights / f"{S}.pth"
    assert not hub.calls


def test_failed_download_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(model_files, "hf_hub_download", FakeHub(fail=ConnectionError("no route to host")))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(WeightsNotFoundError, match="no route to host") as info:
        ensure_weights(tmp_path)
    assert isinstance(info.value.__cause__, ConnectionError)
