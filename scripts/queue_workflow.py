"""Queue an API-format workflow on a running ComfyUI, wait for it over the websocket, download what it saved.

usage: python scripts/queue_workflow.py WORKFLOW.json [--server URL] [--upload NODE.INPUT=FILE]...
                                        [--set NODE.INPUT=VALUE]... [--out DIR] [--timings]

NODE is a node id or a node title (``_meta.title``); VALUE is JSON when it parses (``2``, ``true``), else text.
``--upload`` copies FILE into ComfyUI's input folder and points the input at it. The saved files are
written to ``--out`` and their paths printed, one per line; progress goes to stderr, and with ``--timings`` the
seconds each node ran.
Needs ``requests`` and ``websocket-client`` (scripts/install_comfyui.sh installs both).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import websocket

Prompt = dict[str, dict[str, Any]]
MEDIA_KEYS = ("images", "gifs", "videos", "audio")


class WorkflowError(RuntimeError):
    """The server refused the workflow or a node failed; the message names the node and ComfyUI's reason."""


def set_input(prompt: Prompt, target: str, value: Any) -> None:
    """Set ``NODE.INPUT`` (node id or title) in ``prompt``."""
    node, _, name = target.rpartition(".")
    matches = [i for i, data in prompt.items() if node in (i, data.get("_meta", {}).get("title"))]
    if len(matches) != 1 or not name:
        raise KeyError(f"{target!r}: expected NODE.INPUT with NODE one node id or title; {len(matches)} nodes match")
    prompt[matches[0]]["inputs"][name] = value


@dataclass
class Finished:
    """A prompt that ran: its nodes' outputs (``/history``) and how long each node that ran took.

    ``node_seconds`` is in execution order, from the websocket's ``executing`` messages (one as each node starts;
    the last node ends at ``execution_success``); nodes served from ComfyUI's cache are in ``cached``.
    """

    outputs: dict[str, dict]
    node_seconds: dict[str, float] = field(default_factory=dict)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0


def upload(server: str, file: Path, name: str | None = None) -> str:
    """Copy ``file`` into the server's input folder (as ``name``, default its own); the name to give a Load Image /
    Load Video input."""
    with file.open("rb") as handle:
        response = requests.post(f"{server}/upload/image", files={"image": (name or file.name, handle)},
                                 data={"overwrite": "true"}, timeout=600)
    response.raise_for_status()
    saved = response.json()
    return f"{saved['subfolder']}/{saved['name']}" if saved.get("subfolder") else saved["name"]


def run(server: str, prompt: Prompt, timeout: float = 24 * 3600.0) -> Finished:
    """Queue ``prompt``, follow it on the websocket until it ends; its outputs and per-node times."""
    client, node_seconds, cached = uuid.uuid4().hex, {}, []
    running, started = None, time.perf_counter()
    ws = websocket.create_connection(f"{server.replace('http', 'ws', 1)}/ws?clientId={client}", timeout=timeout)
    try:
        response = requests.post(f"{server}/prompt", json={"prompt": prompt, "client_id": client}, timeout=60)
        if response.status_code != 200:
            raise WorkflowError(f"ComfyUI refused the workflow: {_refusal(response)}")
        prompt_id = response.json()["prompt_id"]
        while True:
            frame = ws.recv()
            if isinstance(frame, bytes):  # preview images
                continue
            message = json.loads(frame)
            data = message.get("data", {})
            if data.get("prompt_id") != prompt_id:
                continue
            now = time.perf_counter()
            if running is not None and message["type"] in ("executing", "execution_success"):
                node_seconds[running[0]] = node_seconds.get(running[0], 0.0) + now - running[1]
                running = None
            if message["type"] == "execution_start":
                started = now
            elif message["type"] == "execution_cached":
                cached = [str(node) for node in data.get("nodes", [])]
            elif message["type"] == "executing" and data.get("node") is not None:
                running = (str(data["node"]), now)
            elif message["type"] == "progress":
                end = "\n" if data["value"] >= data["max"] else ""
                print(f"\r{_label(prompt, data['node'])}: {data['value']}/{data['max']}", end=end, file=sys.stderr)
            elif message["type"] == "execution_error":
                raise WorkflowError(f"{_label(prompt, data['node_id'])} failed: {data['exception_message'].strip()}")
            elif message["type"] == "execution_interrupted":
                raise WorkflowError("the workflow was interrupted")
            elif message["type"] == "execution_success":
                break
    finally:
        ws.close()
    seconds = time.perf_counter() - started
    return Finished(_history(server, prompt_id)["outputs"], node_seconds, cached, seconds)


def timing_table(prompt: Prompt, finished: Finished) -> str:
    """A text table of ``finished``'s per-node seconds and shares, cached nodes last."""
    rows = [f"{'node':<48} {'s':>9} {'share':>6}"]
    for node, seconds in finished.node_seconds.items():
        share = seconds / finished.seconds if finished.seconds else 0.0
        rows.append(f"{_label(prompt, node):<48} {seconds:9.3f} {share:6.1%}")
    rows.append(f"{'prompt (execution start to success)':<48} {finished.seconds:9.3f}")
    if finished.cached:
        rows.append("cached: " + ", ".join(_label(prompt, node) for node in finished.cached))
    return "\n".join(rows)


def _history(server: str, prompt_id: str, wait: float = 30.0) -> dict:
    """The prompt's history entry (ComfyUI stores it just after reporting success)."""
    deadline = time.monotonic() + wait
    while True:
        history = requests.get(f"{server}/history/{prompt_id}", timeout=60).json()
        if prompt_id in history or time.monotonic() > deadline:
            return history[prompt_id]
        time.sleep(0.2)


def _label(prompt: Prompt, node: str) -> str:
    data = prompt.get(str(node), {})
    return f"node {node} ({data.get('_meta', {}).get('title') or data.get('class_type', '?')})"


def _refusal(response: requests.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {response.text[:2000]}"
    lines = [answer.get("error", {}).get("message", "")]
    for node, error in answer.get("node_errors", {}).items():
        lines += [f"node {node} ({error['class_type']}): {e['message']}: {e.get('details', '')}" for e in error["errors"]]
    return "\n".join(line for line in lines if line)


def download(server: str, outputs: dict[str, dict], out: Path) -> list[Path]:
    """Fetch every file the nodes saved (``type`` output) through ``/view`` into ``out``."""
    paths = []
    for result in outputs.values():
        for key in MEDIA_KEYS:
            for item in result.get(key, []):
                if item.get("type") != "output":
                    continue
                target = out / item["subfolder"] / item["filename"]
                target.parent.mkdir(parents=True, exist_ok=True)
                response = requests.get(f"{server}/view", params=item, timeout=600)
                response.raise_for_status()
                target.write_bytes(response.content)
                paths.append(target)
    return paths


def _assignment(text: str) -> tuple[str, str]:
    target, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not NODE.INPUT=VALUE")
    return target, value


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workflow", type=Path, help="an API-format workflow (workflows/api/*.json)")
    parser.add_argument("--server", default="http://127.0.0.1:8188", help="ComfyUI's address (default: %(default)s)")
    parser.add_argument("--upload", type=_assignment, action="append", default=[], metavar="NODE.INPUT=FILE")
    parser.add_argument("--set", type=_assignment, action="append", default=[], metavar="NODE.INPUT=VALUE")
    parser.add_argument("--out", type=Path, default=Path("out"), help="where saved files go (default: %(default)s)")
    parser.add_argument("--timings", action="store_true", help="print the seconds each node ran to stderr")
    args = parser.parse_args()
    prompt = json.loads(args.workflow.read_text())
    try:
        for target, file in args.upload:
            set_input(prompt, target, upload(args.server, Path(file)))
        for target, value in args.set:
            set_input(prompt, target, _value(value))
        finished = run(args.server, prompt)
        paths = download(args.server, finished.outputs, args.out)
    except (WorkflowError, KeyError, OSError, requests.RequestException, websocket.WebSocketException) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.timings:
        print(timing_table(prompt, finished), file=sys.stderr)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
