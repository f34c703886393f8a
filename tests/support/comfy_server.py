"""A real ComfyUI server with this pack installed, for tests that drive it like a client.

``ComfyServer.start`` lays out a fresh base directory (``custom_nodes/`` with a symlink to this
repository and one to the test pack ``tests/support/vhs_like``, ``models/liveportrait/`` with symlinks to the given weights, ``input/``), starts the
ComfyUI tree that ``scripts/install_comfyui.sh`` installs (``.comfyui/`` or ``$COMFYUI_DIR``) on the
CPU (``COMFYUI_TEST_DEVICE=gpu``: on ComfyUI's default device) on a free loopback port, and waits
until it answers. Prompts go through ``POST /prompt`` and are
followed on the websocket; ``/history``, ``/view``, ``/object_info``, ``/interrupt`` and ``/free`` are
wrapped too. The server's log is kept in ``<base>/server.log``.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
COMFYUI = Path(os.environ.get("COMFYUI_DIR", REPO / ".comfyui"))
ON_GPU = os.environ.get("COMFYUI_TEST_DEVICE", "cpu") == "gpu"
HOST = "127.0.0.1"
START_TIMEOUT = 300.0  # seconds; ComfyUI imports all of its own nodes first
PACK_NAME = "liveportrait-kit"
TEST_PACK = REPO / "tests" / "support" / "vhs_like"  # emits what VideoHelperSuite's loaders emit, and edge cases

Prompt = dict[str, dict[str, Any]]


def require_comfyui() -> Path:
    """The ComfyUI tree, or skip the calling test with how to install it."""
    if not (COMFYUI / "main.py").is_file():
        pytest.skip(f"ComfyUI is not installed at {COMFYUI}; run scripts/install_comfyui.sh (or scripts/setup.sh --test)")
    try:
        import requests  # noqa: F401
        import websocket  # noqa: F401
    except ImportError as err:
        pytest.skip(f"the ComfyUI test client needs {err.name}; run scripts/install_comfyui.sh")
    return COMFYUI


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Run:
    """Everything the websocket reported about one prompt, in order (binary preview frames counted apart)."""

    prompt_id: str
    messages: list[dict] = field(default_factory=list)
    previews: int = 0
    seconds: float = 0.0  # wall time from queueing to the final message

    def of_type(self, kind: str) -> list[dict]:
        return [m["data"] for m in self.messages if m["type"] == kind]

    @property
    def status(self) -> str:
        """"success", "error" or "interrupted"."""
        last = self.messages[-1]["type"]
        return {"execution_success": "success", "execution_error": "error", "execution_interrupted": "interrupted"}[last]

    @property
    def error(self) -> dict:
        return self.of_type("execution_error")[0]

    @property
    def executed_nodes(self) -> list[str]:
        """Node ids in the order they ran (cached nodes are not run)."""
        return [m["node"] for m in self.of_type("executing") if m["node"] is not None]

    @property
    def cached_nodes(self) -> set[str]:
        return {n for m in self.of_type("execution_cached") for n in m["nodes"]}

    def progress(self, node: str) -> list[tuple[int, int]]:
        """(value, max) of every progress message of ``node``."""
        return [(m["value"], m["max"]) for m in self.of_type("progress") if m["node"] == node]

    def outputs(self, node: str) -> dict:
        """The UI output the node reported (``executed`` message)."""
        return next(m["output"] for m in self.of_type("executed") if m["node"] == node)


class ComfyServer:
    """One ComfyUI process on a loopback port; see the module docstring."""

    def __init__(self, base: Path, port: int, process: subprocess.Popen):
        self.base, self.port, self.process = base, port, process
        self.url = f"http://{HOST}:{port}"
        self.client_id = uuid.uuid4().hex

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, base: Path, weights: Path, env: dict[str, str] | None = None) -> "ComfyServer":
        """Lay out ``base`` and start ComfyUI on it; ``weights`` (a folder of checkpoints) is linked into models/liveportrait
        (the human files, flat) and models/liveportrait/animal (the animal files: the synthetic ones serve both)."""
        comfyui = require_comfyui()
        for sub in ("custom_nodes", "input", "models/liveportrait/animal", "models/liveportrait_templates"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / "custom_nodes" / PACK_NAME).symlink_to(REPO, target_is_directory=True)
        (base / "custom_nodes" / TEST_PACK.name).symlink_to(TEST_PACK, target_is_directory=True)
        for file in weights.iterdir():
            for folder in ("liveportrait", "liveportrait/animal"):
                (base / "models" / folder / file.name).symlink_to(file)
        port = free_port()
        cmd = [sys.executable, "main.py", *([] if ON_GPU else ["--cpu"]), "--listen", HOST, "--port", str(port),
               "--base-directory", str(base), "--database-url", "sqlite:///:memory:", "--disable-api-nodes",
               "--disable-auto-launch"]
        log = (base / "server.log").open("w")
        process = subprocess.Popen(cmd, cwd=comfyui, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})
        server = cls(base, port, process)
        server.wait_ready()
        return server

    def wait_ready(self) -> None:
        import requests

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ComfyUI exited with {self.process.returncode}:\n{self.log[-4000:]}")
            try:
                if requests.get(f"{self.url}/system_stats", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        self.stop()
        raise TimeoutError(f"ComfyUI did not answer within {START_TIMEOUT:.0f} s:\n{self.log[-4000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @property
    def log(self) -> str:
        return (self.base / "server.log").read_text(errors="replace")

    # ------------------------------------------------------------------ HTTP

    def get(self, path: str, **params: Any):
        import requests

        response = requests.get(f"{self.url}{path}", params=params, timeout=60)
        response.raise_for_status()
        return response

    def post(self, path: str, body: dict | None = None):
        import requests

        return requests.post(f"{self.url}{path}", json=body or {}, timeout=60)

    def object_info(self) -> dict:
        return self.get("/object_info").json()

    def history(self, prompt_id: str) -> dict:
        return self.get(f"/history/{prompt_id}").json()[prompt_id]

    def view(self, filename: str, subfolder: str = "", type: str = "output") -> bytes:
        return self.get("/view", filename=filename, subfolder=subfolder, type=type).content

    def interrupt(self) -> None:
        self.post("/interrupt").raise_for_status()

    def free(self, unload_models: bool = True, free_memory: bool = True) -> None:
        self.post("/free", {"unload_models": unload_models, "free_memory": free_memory}).raise_for_status()

    def queue(self, prompt: Prompt) -> tuple[int, dict]:
        """``POST /prompt``: the HTTP status and the JSON answer (prompt_id, or error and node_errors)."""
        response = self.post("/prompt", {"prompt": prompt, "client_id": self.client_id})
        return response.status_code, response.json()

    # ------------------------------------------------------------------ running prompts

    def run(self, prompt: Prompt, timeout: float = 600.0, on_message=None) -> Run:
        """Queue ``prompt`` and collect its websocket messages until it succeeds, fails or is interrupted.

        ``on_message(server, message)`` is called for every JSON message as it arrives.
        """
        import websocket

        ws = websocket.create_connection(f"ws://{HOST}:{self.port}/ws?clientId={self.client_id}", timeout=timeout)
        try:
            started = time.monotonic()
            status, answer = self.queue(prompt)
            if status != 200:
                raise AssertionError(f"prompt refused ({status}): {json.dumps(answer, indent=1)[:4000]}")
            run = Run(answer["prompt_id"])
            while True:
                frame = ws.recv()
                if isinstance(frame, bytes):
                    run.previews += 1
                    continue
                message = json.loads(frame)
                if message.get("data", {}).get("prompt_id") != run.prompt_id:
                    continue
                run.messages.append(message)
                if on_message is not None:
                    on_message(self, message)
                if message["type"] in ("execution_success", "execution_error", "execution_interrupted"):
                    run.seconds = time.monotonic() - started
                    return run
        finally:
            ws.close()


def image_outputs(server: ComfyServer, run: Run, node: str) -> list[bytes]:
    """The files a SaveImage / PreviewImage node wrote, fetched through /view."""
    return [server.view(i["filename"], i["subfolder"], i["type"]) for i in run.outputs(node)["images"]]


def video_output(server: ComfyServer, run: Run, node: str, folder: Path) -> Path:
    """The one video a SaveVideo-like node wrote, fetched through /view into ``folder``."""
    [saved] = run.outputs(node)["images"]
    path = folder / saved["filename"]
    path.write_bytes(server.view(saved["filename"], saved["subfolder"], saved["type"]))
    return path


@pytest.fixture(scope="session")
def comfy_server(synthetic_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    """One ComfyUI server for the whole session, with the synthetic weights; skips when ComfyUI is not installed."""
    require_comfyui()
    server = ComfyServer.start(tmp_path_factory.mktemp("comfyui"), synthetic_weights)
    yield server
    server.stop()
