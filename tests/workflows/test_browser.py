"""Every shipped workflow in a real browser: headless Chromium on the test server's ComfyUI frontend.

Each canvas workflow is loaded the way the Templates dialog loads it (listed by ``/api/workflow_templates``,
fetched from ``/api/workflow_templates/<pack>/<name>.json``, handed to ``app.loadGraphData``; the dialog's
clicks themselves are not simulated). Then: no node type is missing, the frontend's own API conversion
(``app.graphToPrompt()``) equals the API twin in ``workflows/api/``, the frontend keeps every widget value,
the thumbnail is served, and a screenshot of the canvas is saved under the test's temp folder.
"""
from __future__ import annotations

import json
import re
import shutil
import sys

import pytest

from tests.support.comfy_server import COMFYUI, PACK_NAME, REPO

sys.path.insert(0, str(REPO / "scripts"))
import browser  # noqa: E402

pytestmark = pytest.mark.browser  # every test here needs headless Chromium (server comes from the page fixture)

WORKFLOWS = REPO / "workflows"
NAMES = sorted(p.stem for p in WORKFLOWS.glob("*.json"))


def graph(prompt: dict) -> dict[str, tuple[str, dict]]:
    """Node id -> (class_type, inputs): what the server executes, without titles.

    Webcam Capture converts to a fresh capture of the camera (Chromium's test camera here), uploaded as
    ``webcam/<time>.png [temp]``, and to an unused None for its capture button; its API twin names a picture in the
    input folder instead. Both sides show its image as ``CAPTURE``.
    """
    out = {}
    for node, data in prompt.items():
        inputs = {k: v for k, v in data["inputs"].items() if v is not None}
        if data["class_type"] == "WebcamCapture":
            assert re.fullmatch(r"webcam/\d+\.png \[temp\]|webcam\.png", inputs["image"]), inputs["image"]
            inputs["image"] = "CAPTURE"
        out[node] = (data["class_type"], inputs)
    return out


@pytest.fixture(scope="module")
def page(comfy_server, assets_dir):
    if browser.chromium() is None:
        pytest.skip("Chromium is not installed (scripts/setup.sh --test installs Debian's chromium and chromium-driver)")
    pytest.importorskip("selenium", reason="selenium is not installed (scripts/setup.sh --test)")
    shutil.copy(assets_dir / "source" / "s9.jpg", comfy_server.base / "input" / "portrait.jpg")  # previews in the shots
    with browser.frontend(comfy_server.url) as driver:
        yield driver


def test_the_hosts_pinned_frontend_package_is_served(page):
    pinned = re.search(r"^comfyui-frontend-package==(\S+)", (COMFYUI / "requirements.txt").read_text(), re.M).group(1)
    assert page.execute_script("return window.__COMFYUI_FRONTEND_VERSION__") == pinned


def test_templates_route_lists_every_workflow(page):
    assert sorted(browser.templates(page).get(PACK_NAME, [])) == NAMES
    assert NAMES, "no workflows shipped"


@pytest.mark.parametrize("name", NAMES)
def test_workflow_loads_and_converts_to_its_api_twin(page, name, tmp_path_factory):
    loaded = browser.load(page, PACK_NAME, name)
    assert loaded["missing"] == [], f"{name}: node types unknown to the frontend"
    twin = json.loads((WORKFLOWS / "api" / f"{name}.json").read_text())
    assert graph(loaded["prompt"]) == graph(twin)

    shipped = json.loads((WORKFLOWS / f"{name}.json").read_text())
    kept = {n["id"]: n.get("widgets_values") for n in loaded["canvas"]["nodes"]}
    assert kept == {n["id"]: n["widgets_values"] for n in shipped["nodes"]}
    assert len(loaded["canvas"]["links"]) == len(shipped["links"])
    assert loaded["thumbnail"] == 200, f"{name}.jpg is not served next to the workflow"

    shot = browser.screenshot(page, tmp_path_factory.mktemp("screenshots") / f"{name}.png")
    assert shot.stat().st_size > 10_000
