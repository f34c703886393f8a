"""Animate SOURCE with DRIVING by queueing the shipped workflow workflows/api/animate_driving_video.json on a
ComfyUI started for the purpose (the host of scripts/install_comfyui.sh); prints the video's path.

Without SOURCE and DRIVING it animates the official example s9.jpg with d20.mp4, read from ../shared/assets
when present, else downloaded once from the official repository. The weights and the face model are fetched
into the weights folder first (as the nodes would); when that is impossible (offline), it stops before
starting ComfyUI with an error naming the folders and files to provide.

``--timings`` prints the seconds each node of the workflow ran (``--json`` writes them); ``--repeat N`` queues the
workflow N times on the one server, with the inputs uploaded under new names so that every node runs again except
the model loaders, which ComfyUI keeps cached: the prompts after the first show the cost without loading.
``$COMFYUI_ARGS`` adds arguments to ComfyUI's command line (e.g. ``--front-end-root DIR`` where the frontend
package is not installed, as on the GPU check's machine).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import torch

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path[:0] = [str(SCRIPTS), str(REPO)]

import queue_workflow  # noqa: E402
from liveportrait_core.faces.mediapipe_detector import FACE_LANDMARKER  # noqa: E402
from liveportrait_core.faces.model_store import ensure_model_files  # noqa: E402
from liveportrait_core.media.video import probe_video  # noqa: E402
from liveportrait_core.weights.files import ensure_weights  # noqa: E402

COMFYUI = Path(os.environ.get("COMFYUI_DIR", REPO / ".comfyui"))
WORKFLOWS = REPO / "workflows" / "api"
# the workflows it can queue: the inputs that take the driving video and the number of driving frames
DRIVING_INPUTS = {"animate_driving_video": ("Driving video.file", "First driving frames.length"),
                  "long_video_to_file": ("Render to Video File (LivePortrait).driving_video",
                                         "Render to Video File (LivePortrait).max_frames")}
PACK = "liveportrait-kit"
START_TIMEOUT = 600.0
SHARED_ASSETS = REPO.parent / "shared" / "assets"
EXAMPLES_URL = "https://raw.githubusercontent.com/KwaiVGI/LivePortrait/main/assets/examples"
EXAMPLE_SOURCE, EXAMPLE_DRIVING = "source/s9.jpg", "driving/d20.mp4"


def example_input(relative: str, cache: Path) -> Path:
    """An official example input: ``../shared/assets/<relative>`` when present, else downloaded once into ``cache``.

    Raises:
        FileNotFoundError: neither there nor downloadable (the message says what to pass instead).
    """
    local, cached = SHARED_ASSETS / relative, cache / relative
    if local.is_file():
        return local
    if not cached.is_file():
        try:
            response = requests.get(f"{EXAMPLES_URL}/{relative}", timeout=60)
            response.raise_for_status()
        except requests.RequestException as err:
            raise FileNotFoundError(f"the example input {relative} is neither in {SHARED_ASSETS} nor downloadable from "
                                    f"{EXAMPLES_URL} ({type(err).__name__}); pass SOURCE and DRIVING files") from None
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(response.content)
    return cached


def fetch_models(weights: Path) -> list[str]:
    """Fetch what is missing into ``weights``; the errors (naming folders and files) of what could not be had."""
    errors = []
    for fetch in (lambda: ensure_weights(weights, "human", download=True),
                  lambda: ensure_model_files("mediapipe", weights, (FACE_LANDMARKER,), download=True)):
        try:
            fetch()
        except FileNotFoundError as err:
            errors.append(str(err))
    return errors


def lay_out(work: Path, weights: Path) -> Path:
    """ComfyUI's base folder: the pack in custom_nodes/, an extra_model_paths.yaml pointing at ``weights``."""
    (work / "custom_nodes").mkdir(parents=True, exist_ok=True)
    link = work / "custom_nodes" / PACK
    if not link.exists():
        link.symlink_to(REPO, target_is_directory=True)
    config = work / "extra_model_paths.yaml"
    config.write_text(f"liveportrait_kit:\n  base_path: {REPO}\n  liveportrait: {weights}\n"
                      f"  liveportrait_templates: models/liveportrait_templates\n")
    return config


def start_comfyui(work: Path, config: Path) -> tuple[subprocess.Popen, str]:
    """ComfyUI on a free loopback port (on the CPU when torch sees no GPU); waits until it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    accelerated = torch.cuda.is_available() or torch.backends.mps.is_available()
    cmd = [sys.executable, "main.py", *([] if accelerated else ["--cpu"]), "--listen", "127.0.0.1", "--port", str(port),
           "--base-directory", str(work), "--extra-model-paths-config", str(config), "--disable-auto-launch",
           "--database-url", "sqlite:///:memory:", *shlex.split(os.environ.get("COMFYUI_ARGS", ""))]
    log = work / "comfyui.log"
    process = subprocess.Popen(cmd, cwd=COMFYUI, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"{url}/system_stats", timeout=2).ok:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"ComfyUI did not start; see {log}:\n{log.read_text(errors='replace')[-3000:]}")


def animate_prompt(url: str, workflow: str, source: Path, driving: Path, frames: int,
                   run: int = 0) -> queue_workflow.Prompt:
    """The shipped ``workflow`` on ``source`` and ``driving``, uploaded under names of their own for each ``run``
    (so that ComfyUI's cache does not serve the nodes after them again)."""
    prompt = json.loads((WORKFLOWS / f"{workflow}.json").read_text())
    driving_input, frames_input = DRIVING_INPUTS[workflow]
    for target, file in (("Source portrait.image", source), (driving_input, driving)):
        name = f"{file.stem}_{run}{file.suffix}" if run else file.name
        queue_workflow.set_input(prompt, target, queue_workflow.upload(url, file, name))
    if frames:
        queue_workflow.set_input(prompt, frames_input, frames)
    return prompt


def timings_json(prompt: queue_workflow.Prompt, runs: list[queue_workflow.Finished], frames: int) -> dict:
    """Every run's per-node seconds, keyed by node title, with the number of frames animated."""
    def title(node: str) -> str:
        return prompt[node].get("_meta", {}).get("title") or prompt[node]["class_type"]
    return {"frames": frames, "prompts": [{"seconds": run.seconds, "cached": [title(n) for n in run.cached],
                                           "nodes": {title(n): s for n, s in run.node_seconds.items()}}
                                          for run in runs]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, nargs="?", help=f"the portrait to animate (default: the official {EXAMPLE_SOURCE})")
    parser.add_argument("driving", type=Path, nargs="?",
                        help=f"the driving video, whose sound and fps are kept (default: the official {EXAMPLE_DRIVING})")
    parser.add_argument("--frames", type=int, default=0, help="animate only the first N driving frames (0: all)")
    parser.add_argument("--out", type=Path, default=REPO / "out", help="where the video goes (default: %(default)s)")
    parser.add_argument("--weights", type=Path, default=Path(os.environ.get("LIVEPORTRAIT_WEIGHTS",
                                                                           REPO / "models" / "liveportrait")),
                        help="the LivePortrait weights folder (default: %(default)s or $LIVEPORTRAIT_WEIGHTS)")
    parser.add_argument("--work", type=Path, default=REPO / "out" / "comfyui", help="ComfyUI's base folder")
    parser.add_argument("--workflow", choices=sorted(DRIVING_INPUTS), default="animate_driving_video",
                        help="the shipped workflow to queue (default: %(default)s; long_video_to_file streams the "
                             "driving video through Render to Video File)")
    parser.add_argument("--timings", action="store_true", help="print the seconds each node ran, per prompt")
    parser.add_argument("--repeat", type=int, default=1, help="queue the workflow N times (default: %(default)s)")
    parser.add_argument("--json", type=Path, help="write the per-node seconds of every prompt to this file")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    try:
        args.source = args.source or example_input(EXAMPLE_SOURCE, args.out / "examples")
        args.driving = args.driving or example_input(EXAMPLE_DRIVING, args.out / "examples")
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for path in (args.source, args.driving):
        if not path.is_file():
            print(f"error: {path} does not exist", file=sys.stderr)
            return 2
    weights = args.weights.resolve()
    errors = fetch_models(weights)
    if errors:
        print("error: the model files below are missing and could not be downloaded; provide them and run again.",
              *errors, sep="\n\n", file=sys.stderr)
        return 1
    process, url = start_comfyui(args.work.resolve(), lay_out(args.work.resolve(), weights))
    try:
        runs, prompt = [], {}
        for run in range(args.repeat):
            prompt = animate_prompt(url, args.workflow, args.source, args.driving, args.frames, run)
            runs.append(queue_workflow.run(url, prompt))
        videos = queue_workflow.download(url, runs[-1].outputs, args.out)
    except queue_workflow.WorkflowError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        process.terminate()
        process.wait(timeout=60)
    if args.timings:
        for number, run in enumerate(runs, 1):
            print(f"prompt {number} of {len(runs)}:", queue_workflow.timing_table(prompt, run), sep="\n", file=sys.stderr)
    if args.json:
        frames = probe_video(videos[0]).frames if videos else 0
        args.json.write_text(json.dumps(timings_json(prompt, runs, frames), indent=1))
    print(*videos, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
