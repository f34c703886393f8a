"""Make the pictures the README and the Templates browser show, with a real ComfyUI and headless Chromium.

* ``workflows/<name>.jpg``: each shipped workflow's canvas, loaded through the Templates route (thumbnails)
* ``docs/canvas.png``: the canvas of ``animate_driving_video``
* ``docs/before_after.png``: source portrait | driving frame | the animated, pasted-back frame, from that
  workflow's API twin run for one frame

usage: python scripts/readme_pictures.py [--weights DIR] [--portrait IMG] [--driving VIDEO] [--frame N] [--thumbnails NAME ...]
The weights folder is linked into the server's models/liveportrait (it also needs mediapipe/face_landmarker.task).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import av
from PIL import Image, ImageDraw

SCRIPTS = Path(__file__).resolve().parent
REPO = SCRIPTS.parent
sys.path[:0] = [str(SCRIPTS), str(REPO)]

import browser  # noqa: E402
import queue_workflow  # noqa: E402
from tests.support.comfy_server import PACK_NAME, ComfyServer  # noqa: E402

WORKFLOWS, DOCS = REPO / "workflows", REPO / "docs"
SHOWN = "animate_driving_video"
THUMBNAIL_WIDTH, PANEL_HEIGHT = 640, 320


def thumbnails_and_canvas(url: str, names: list[str]) -> None:
    """The thumbnails of the workflows ``names``, and docs/canvas.png when they include the one shown."""
    with browser.frontend(url, 1600, 1000) as page, tempfile.TemporaryDirectory() as tmp:
        for name in names:
            browser.load(page, PACK_NAME, name)
            shot = browser.screenshot(page, Path(tmp) / f"{name}.png")
            with Image.open(shot) as image:
                if name == SHOWN:
                    image.convert("RGB").quantize(256).save(DOCS / "canvas.png", optimize=True)
                small = image.convert("RGB").resize((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * image.height // image.width))
                small.save(WORKFLOWS / f"{name}.jpg", quality=85, optimize=True)
            print(WORKFLOWS / f"{name}.jpg")


def before_after(url: str, portrait: Path, driving: Path, frame: int, out: Path, note: str) -> None:
    prompt = json.loads((WORKFLOWS / "api" / f"{SHOWN}.json").read_text())
    queue_workflow.set_input(prompt, "Source portrait.image", queue_workflow.upload(url, portrait))
    queue_workflow.set_input(prompt, "Driving video.file", queue_workflow.upload(url, driving))
    queue_workflow.set_input(prompt, "First driving frames.batch_index", frame)
    queue_workflow.set_input(prompt, "First driving frames.length", 1)
    with tempfile.TemporaryDirectory() as tmp:
        (video,) = queue_workflow.download(url, queue_workflow.run(url, prompt).outputs, Path(tmp))
        panels = [Image.open(portrait).convert("RGB"), _frame(driving, frame), _frame(video, 0)]
    labels = ["source", f"driving frame {frame}", f"animated {note}".strip()]
    scaled = [p.resize((p.width * PANEL_HEIGHT // p.height, PANEL_HEIGHT)) for p in panels]
    sheet = Image.new("RGB", (sum(p.width for p in scaled), PANEL_HEIGHT + 28), "white")
    draw, x = ImageDraw.Draw(sheet), 0
    for panel, label in zip(scaled, labels):
        sheet.paste(panel, (x, 28))
        draw.text((x + 8, 8), label, fill="black")
        x += panel.width
    sheet.quantize(256).save(out, optimize=True)
    print(out)


def _frame(video: Path, index: int) -> Image.Image:
    with av.open(str(video)) as container:
        for i, decoded in enumerate(container.decode(video=0)):
            if i == index:
                return decoded.to_image()
    raise ValueError(f"{video} has no frame {index}")


def main() -> int:
    shared = REPO.parent / "shared" / "assets"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, default=REPO / "models" / "liveportrait")
    parser.add_argument("--portrait", type=Path, default=shared / "source" / "s9.jpg")
    parser.add_argument("--driving", type=Path, default=shared / "driving" / "d20.mp4")
    parser.add_argument("--frame", type=int, default=40, help="driving frame shown (default: %(default)s)")
    parser.add_argument("--note", default="", help="added to the animated frame's label, e.g. which weights made it")
    parser.add_argument("--thumbnails", nargs="+", metavar="NAME",
                        help="only the thumbnails of these workflows (no before/after picture)")
    args = parser.parse_args()
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = ComfyServer.start(Path(tmp), args.weights.resolve())
        try:
            shutil.copy(args.portrait, server.base / "input" / "portrait.jpg")  # the canvases show both
            shutil.copy(args.driving, server.base / "input" / "driving.mp4")
            if not args.thumbnails:
                before_after(server.url, args.portrait, args.driving, args.frame, DOCS / "before_after.png", args.note)
            thumbnails_and_canvas(server.url, args.thumbnails or sorted(p.stem for p in WORKFLOWS.glob("*.json")))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
