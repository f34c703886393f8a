"""Headless Chromium on ComfyUI's frontend: load shipped workflows the way the Templates dialog does.

Debian's ``chromium`` and ``chromium-driver`` packages, driven by Selenium (``scripts/setup.sh --test``
installs all three). The Templates dialog lists ``GET /api/workflow_templates`` and, on a click, fetches
``/api/workflow_templates/<pack folder>/<name>.json`` and hands it to ``app.loadGraphData``; ``load``
does exactly that without the dialog's clicks.
"""
from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--force-device-scale-factor=1",
         # Chromium's own test camera, granted without asking: Webcam Capture captures its test pattern
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
READY_TIMEOUT = 120.0

_LOAD = """
const [pack, name, done] = arguments;
(async () => {
  const base = `/api/workflow_templates/${encodeURIComponent(pack)}/${encodeURIComponent(name)}`;
  const workflow = await (await fetch(`${base}.json`)).json();
  await app.loadGraphData(workflow, true, true, name, {openSource: "template"});
  app.canvas.ds.scale = 1; app.canvas.ds.offset = [0, 0];
  const missing = app.graph.nodes.filter(n => !LiteGraph.registered_node_types[n.type] || n.has_errors).map(n => n.type);
  // Webcam Capture captures while converting: wait until its camera is on (its capture button is enabled)
  const waiting = () => app.graph.nodes.some(n => n.type === "WebcamCapture" &&
                                                  n.widgets.some(w => w.type === "button" && w.disabled));
  for (let i = 0; i < 100 && waiting(); i++) await new Promise(resolve => setTimeout(resolve, 100));
  const prompt = (await app.graphToPrompt()).output;
  const canvas = app.graph.serialize();
  const thumbnail = (await fetch(`${base}.jpg`)).status;
  done({missing, prompt, canvas, thumbnail});
})().catch(err => done({error: String(err && err.stack || err)}));
"""
_QUIET = """
const done = arguments[0];
localStorage.setItem("vueNodesBannerDismissed", "true");
Promise.all([app.extensionManager.setting.set("Comfy.Minimap.Visible", false),
             app.extensionManager.setting.set("Comfy.Graph.CanvasInfo", false)]).then(() => done(true));
"""
_FIT = """
const [width, height, done] = arguments;
const [left, top, margin] = [70, 90, 30];
const nodes = app.graph.nodes;
const x0 = Math.min(...nodes.map(n => n.pos[0])), y0 = Math.min(...nodes.map(n => n.pos[1] - 30));
const x1 = Math.max(...nodes.map(n => n.pos[0] + n.size[0])), y1 = Math.max(...nodes.map(n => n.pos[1] + n.size[1]));
const scale = Math.min((width - left - margin) / (x1 - x0), (height - top - margin) / (y1 - y0), 1);
app.canvas.ds.scale = scale;
app.canvas.ds.offset = [left / scale - x0, top / scale - y0];
app.canvas.setDirty(true, true);
setTimeout(() => done(scale), 1500);
"""


def chromium() -> tuple[str, str] | None:
    """(browser, driver) paths, or None where Debian's chromium / chromium-driver are not installed."""
    browser = next((p for p in CHROMIUM if Path(p).is_file()), None)
    driver = next((p for p in DRIVER if Path(p).is_file()), shutil.which("chromedriver"))
    return (browser, driver) if browser and driver else None


@contextmanager
def frontend(url: str, width: int = 1600, height: int = 1000) -> Iterator[Any]:
    """A Selenium driver with ComfyUI's app loaded from ``url`` (a fresh profile, no network but ``url``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = chromium()
    if found is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(found[1]), options=options)
        try:
            driver.set_script_timeout(READY_TIMEOUT)
            driver.get(url)
            _wait_ready(driver)
            driver.execute_async_script(_QUIET)  # no banner, minimap or canvas statistics in the pictures
            driver.refresh()
            _wait_ready(driver)
            yield driver
        finally:
            driver.quit()


def _wait_ready(driver: Any) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if driver.execute_script("return !!(window.app && app.vueAppReady && app.graph && window.LiteGraph)"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"ComfyUI's frontend did not start within {READY_TIMEOUT:.0f} s")


def templates(driver: Any) -> dict[str, list[str]]:
    """``GET /api/workflow_templates``: pack folder -> workflow names, as the Templates dialog lists them."""
    return driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/workflow_templates').then(r => r.json()).then(done)")


def load(driver: Any, pack: str, name: str) -> dict[str, Any]:
    """Load template ``name`` of ``pack`` into the canvas.

    Returns ``missing`` (node types the frontend does not know), ``prompt`` (``app.graphToPrompt()``'s
    API output), ``canvas`` (the graph as the frontend serialises it) and ``thumbnail`` (HTTP status of
    the template's .jpg).
    """
    result = driver.execute_async_script(_LOAD, pack, name)
    if "error" in result:
        raise RuntimeError(f"loading template {name}: {result['error']}")
    return result


def screenshot(driver: Any, path: Path) -> Path:
    """Fit the whole graph into the window and save a PNG of the page."""
    size = driver.get_window_size()
    driver.execute_async_script(_FIT, size["width"], size["height"] - 140)
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path
