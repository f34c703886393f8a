#!/usr/bin/env python
"""Contact sheets of the expression sliders: for each slider, the source rendered at neutral / min / max.

The source image is used as an already cropped face (resized to 256x256). Without --weights the
synthetic test weights of ../shared/conformance are generated into the test cache; they show the
geometry of each edit, not a realistic face. The ratio targets need the source's eye/lip ratios
(--ratios LEFT RIGHT LIP, from its landmarks); without them they are left out.

    .venv/bin/python scripts/slider_sheet.py --precision bf16 --sliders smile wink yaw
    .venv/bin/python scripts/slider_sheet.py --weights ~/models/liveportrait --source face.png --out /tmp/sheets

Writes one PNG per slider plus all_sliders.png (one row per slider) into --out (default: a folder
in the system temp directory, never the repository). Rendering costs about 5 s per frame on a CPU in
fp32; neutral is rendered once and shared.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from benchmark import synthetic_weights  # noqa: E402  (the same cached synthetic weights as the tests)
from liveportrait_core.editing.apply_sliders import slider_keypoints# noqa: E402
from liveportrait_core.editing.sliders import SLIDERS, ExpressionSliders# noqa: E402
from liveportrait_core.faces.input_tensors import resize_to_input, to_tensor  # noqa: E402
from liveportrait_core.pipeline.engine import LivePortraitEngine  # noqa: E402
from liveportrait_core.pipeline.render import to_uint8  # noqa: E402
from liveportrait_core.weights.files import load_networks  # noqa: E402

DEFAULT_SOURCE = REPO.parent / "shared" / "conformance" / "source_s6.png"
RATIO_SLIDERS = ("target_eye_ratio", "target_lip_ratio")


def sheet_states(names: list[str]) -> list[tuple[str, str, ExpressionSliders]]:
    """(slider, label, state) for neutral once, then the minimum and maximum of each slider."""
    states = [("", "neutral", ExpressionSliders())]
    for name in names:
        spec = SLIDERS[name]
        states += [(name, f"{name} = {v:g}", ExpressionSliders(**{name: v})) for v in (spec.minimum, spec.maximum)]
    return states


def labelled(frame: np.ndarray, text: str, size: int) -> Image.Image:
    """A rendered uint8 frame resized to ``size`` with a caption strip underneath."""
    tile = Image.new("RGB", (size, size + 18), "white")
    tile.paste(Image.fromarray(frame).resize((size, size), Image.Resampling.LANCZOS), (0, 0))
    ImageDraw.Draw(tile).text((4, size + 3), text, fill="black")
    return tile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="LivePortrait weights folder (default: the synthetic test weights)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="cropped face image (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "liveportrait-slider-sheets")
    parser.add_argument("--sliders", nargs="+", choices=list(SLIDERS), help="which sliders (default: all)")
    parser.add_argument("--ratios", nargs=3, type=float, metavar=("LEFT", "RIGHT", "LIP"),
                        help="source eye-open (left, right) and lip-open ratios; needed for the ratio targets")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"))
    parser.add_argument("--size", type=int, default=256, help="tile size in pixels (default: %(default)s)")
    parser.add_argument("--chunk", type=int, default=4, help="frames rendered per batch (default: %(default)s)")
    args = parser.parse_args()

    names = args.sliders or list(SLIDERS)
    if args.ratios is None and any(n in RATIO_SLIDERS for n in names):
        print("no --ratios given: leaving out the ratio targets", file=sys.stderr)
        names = [n for n in names if n not in RATIO_SLIDERS]
    if not names:
        parser.error("no slider left to render")
    try:
        args.out.resolve().relative_to(REPO)
        print(f"warning: writing into the repository ({args.out})", file=sys.stderr)
    except ValueError:
        pass

    weights = args.weights or synthetic_weights()
    engine = LivePortraitEngine(load_networks(weights, download=False), device=args.device, precision=args.precision)
    image = resize_to_input(to_tensor(np.array(Image.open(args.source).convert("RGB"))))
    eye, lip = (None, None) if args.ratios is None else (torch.tensor([args.ratios[:2]]), torch.tensor([[args.ratios[2]]]))
    source = engine.source(image, eye_ratio=eye, lip_ratio=lip)

    states = sheet_states(names)
    per_frame = {name: [getattr(s, name) for _, _, s in states] for name in SLIDERS}
    for name in RATIO_SLIDERS:  # off except where the ratio slider itself is shown: there the source value
        if name in names:
            rounded = round(float((eye if name == "target_eye_ratio" else lip).mean()), 2)
            per_frame[name] = [rounded if v is None else v for v in per_frame[name]]
        else:
            per_frame[name] = None
    with torch.inference_mode():
        kp = slider_keypoints(engine.networks.stitching, source.motion, ExpressionSliders(**per_frame))
        frames = torch.cat([to_uint8(chunk) for chunk in engine.render(
            source, kp, args.chunk, on_progress=lambda done, total: print(f"rendered {done}/{total}", file=sys.stderr))])

    args.out.mkdir(parents=True, exist_ok=True)
    tiles = [labelled(frame.numpy(), label, args.size) for frame, (_, label, _) in zip(frames, states)]
    rows = []
    for i, name in enumerate(names):
        row = Image.new("RGB", (3 * tiles[0].width, tiles[0].height), "white")
        for j, tile in enumerate((tiles[0], tiles[1 + 2 * i], tiles[2 + 2 * i])):
            row.paste(tile, (j * tile.width, 0))
        row.save(args.out / f"{name}.png")
        rows.append(row)
    sheet = Image.new("RGB", (rows[0].width, rows[0].height * len(rows)), "white")
    for i, row in enumerate(rows):
        sheet.paste(row, (0, i * row.height))
    sheet.save(args.out / "all_sliders.png")
    print(f"wrote {len(rows)} sheets and all_sliders.png to {args.out}")


if __name__ == "__main__":
    main()
