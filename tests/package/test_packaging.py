"""Packaging: the registry metadata, requirements that never disturb a ComfyUI install, lazy heavy imports."""
from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import version

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.support.comfy_server import COMFYUI, REPO

HEAVY_OPTIONAL = ("onnxruntime", "matplotlib", "mediapipe", "cv2", "selenium")
TORCH = {"torch", "torchvision", "torchaudio"}


def requirements(path) -> list[Requirement]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def test_requirements_leave_torch_alone_and_pin_nothing():
    for req in requirements(REPO / "requirements.txt"):
        assert canonicalize_name(req.name) not in TORCH, f"{req} would touch ComfyUI's torch"
        assert not any(s.operator in ("==", "===", "~=") for s in req.specifier), f"{req} pins a version"


def test_requirements_shared_with_comfyui_are_met_by_its_versions():
    if not (COMFYUI / "requirements.txt").is_file():
        pytest.skip("the ComfyUI test host is not installed (scripts/install_comfyui.sh)")
    comfy = {canonicalize_name(r.name) for r in requirements(COMFYUI / "requirements.txt")}
    for req in requirements(REPO / "requirements.txt"):
        if canonicalize_name(req.name) in comfy:
            installed = version(req.name)
            assert req.specifier.contains(installed, prereleases=True), f"{req} would replace ComfyUI's {installed}"


def test_pyproject_matches_requirements_and_carries_registry_metadata():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert sorted(map(str, requirements(REPO / "requirements.txt"))) == sorted(project["project"]["dependencies"])
    comfy = project["tool"]["comfy"]
    for key in ("PublisherId", "DisplayName", "Icon"):
        assert comfy[key], key
    assert comfy["Icon"].endswith("docs/icon.png") and (REPO / "docs" / "icon.png").is_file()
    assert isinstance(comfy["includes"], list)
    host = COMFYUI / "comfyui_version.py"
    if not host.is_file():
        pytest.skip("the ComfyUI test host is not installed (scripts/install_comfyui.sh)")
    assert SpecifierSet(comfy["requires-comfyui"]).contains(host.read_text().split('__version__ = "')[1].split('"')[0])


def test_pyproject_has_the_fields_the_registry_documents():
    """docs.comfy.org/registry/specifications: urls, OS and accelerator classifiers, [tool.comfy]."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    urls = project["project"]["urls"]
    for key in ("Repository", "Documentation", "Bug Tracker"):
        assert urls[key].startswith("https://"), key
    classifiers = project["project"]["classifiers"]
    assert any(c.startswith("Operating System :: ") for c in classifiers)
    assert any(c.startswith(("Environment :: GPU :: ", "Environment :: NPU :: ")) for c in classifiers)
    assert project["project"]["name"] and "comfyui" not in project["project"]["name"].lower()
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["project"]["version"])
    assert project["tool"]["comfy"]["PublisherId"]


def test_publish_workflow_runs_the_registry_action_when_pyproject_changes_on_main():
    """.github/workflows/publish.yml as the registry's publishing guide sets it up."""
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "publish.yml").read_text())
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the bare key `on` as true
    assert "main" in triggers["push"]["branches"] and triggers["push"]["paths"] == ["pyproject.toml"]
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    (publish,) = [step for step in steps if step.get("uses", "").startswith("Comfy-Org/publish-node-action@")]
    assert publish["with"]["personal_access_token"] == "${{ secrets.REGISTRY_ACCESS_TOKEN }}"
    assert any(step.get("uses", "").startswith("actions/checkout@") for step in steps[:steps.index(publish)])


def test_optional_heavy_packages_are_imported_only_where_used():
    code = ("import importlib, pkgutil, sys, liveportrait_core\n"
            "for m in pkgutil.walk_packages(liveportrait_core.__path__, 'liveportrait_core.'):\n"
            "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
            f"print(' '.join(sorted(set({HEAVY_OPTIONAL!r}) & set(sys.modules))))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"imported at module level: {proc.stdout.strip()}"
