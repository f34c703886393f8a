"""What the ``animate`` and ``edit`` commands share: engine options, progress, writing frames."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

import torch

from ..media import VideoWriter, write_png_frames
from ..pipeline.engine import LivePortraitEngine
from ..pipeline.precision import DEVICES, PRECISIONS

DEFAULT_WEIGHTS = Path(os.environ.get("LIVEPORTRAIT_WEIGHTS", "models/liveportrait"))


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="folder with the five checkpoints, flat or in the hub layout (default: %(default)s or $LIVEPORTRAIT_WEIGHTS)")
    parser.add_argument("--no-download", action="store_true", help="never fetch missing weights from the hub")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: bf16/fp16 on GPU, fp32 on CPU")


def engine_from_args(args: argparse.Namespace, variant: str = "human", compile: bool = False) -> LivePortraitEngine:
    return LivePortraitEngine.from_folder(args.weights, variant, args.device, args.precision,
                                          download=not args.no_download, compile=compile)


def print_progress(done: int, total: int) -> None:
    print(f"\rrendered {done}/{total} frames", end="", file=sys.stderr, flush=True)


def frame_ranges(indices: Iterable[int]) -> str:
    """Frame indices as compact text: [2, 7, 8, 9] -> "2, 7-9"."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def write_frames(out: Path, frames: Iterator[torch.Tensor], fps: float, audio_from: Path | None) -> int:
    """Stream uint8 (n, H, W, 3) frames into ``out`` (.mp4 video, else a PNG folder); returns the frame count."""
    count = 0
    if out.suffix.lower() == ".mp4":
        out.parent.mkdir(parents=True, exist_ok=True)
        with VideoWriter(out, fps, audio_from=audio_from) as writer:
            for chunk in frames:
                writer.write(chunk.cpu().numpy())
                count += chunk.shape[0]
    else:
        for chunk in frames:
            write_png_frames(out, chunk.cpu().numpy(), start_index=count)
            count += chunk.shape[0]
    return count
