"""Contact sheet of face crops: every image's 512 crop with its landmarks drawn, in one PNG.

usage: python scripts/contact_sheet.py [IMAGE ...] [--out PNG] [--detector mediapipe|insightface] [--models DIR]

Default images: ../shared/assets/source/*.jpg; default output: <system temp>/liveportrait-kit/contact_sheet.png
(outside the repository). Images without a face get a grey tile saying so.
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from liveportrait_core.cli.main import DEFAULT_WEIGHTS  # noqa: E402
from liveportrait_core.faces import BACKENDS, create_detector, cut_crops, track_source_image  # noqa: E402
from liveportrait_core.faces.draw import draw_landmarks  # noqa: E402
from liveportrait_core.media import read_image  # noqa: E402

DEFAULT_IMAGES = REPO.parent / "shared" / "assets" / "source"
DEFAULT_OUT = Path(tempfile.gettempdir()) / "liveportrait-kit" / "contact_sheet.png"


def tile(detector, path: Path, size: int) -> Image.Image:
    """The crop of the largest face with landmarks and a caption, or a grey 'no face' tile."""
    image = read_image(path)
    faces = detector.detect(image)[0]
    if len(faces) == 0:
        out = Image.new("RGB", (size, size), (90, 90, 90))
        caption = f"{path.name}: no face"
    else:
        track = track_source_image(faces)
        crop = cut_crops(image, track)[0].numpy()
        out = Image.fromarray(draw_landmarks(crop, track.landmarks_crop[0].numpy())).resize((size, size), Image.LANCZOS)
        score = float(track.scores[0])
        caption = f"{path.name}  {len(faces)} face(s)" + ("" if math.isnan(score) else f"  score {score:.2f}")
    pen = ImageDraw.Draw(out)
    pen.rectangle([0, 0, size, 14], fill=(0, 0, 0))
    pen.text((4, 1), caption, fill=(255, 255, 255))
    return out


def contact_sheet(images: list[Path], detector, size: int = 256, columns: int = 4) -> Image.Image:
    rows = math.ceil(len(images) / columns)
    sheet = Image.new("RGB", (columns * size, rows * size), (30, 30, 30))
    for i, path in enumerate(images):
        sheet.paste(tile(detector, path, size), ((i % columns) * size, (i // columns) * size))
    return sheet


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="*", type=Path, help=f"images (default: {DEFAULT_IMAGES}/*.jpg)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output PNG (default: %(default)s)")
    parser.add_argument("--detector", choices=BACKENDS, default="mediapipe")
    parser.add_argument("--models", type=Path, default=DEFAULT_WEIGHTS, help="detector files folder (default: %(default)s)")
    parser.add_argument("--tile", type=int, default=256, help="tile side in pixels")
    parser.add_argument("--no-download", action="store_true")
    args = parser.parse_args()
    images = args.images or sorted(DEFAULT_IMAGES.glob("*.jpg"))
    if not images:
        parser.error(f"no images given and none found in {DEFAULT_IMAGES}")
    with create_detector(args.detector, args.models, download=not args.no_download) as detector:
        sheet = contact_sheet(images, detector, args.tile)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
