"""What the ``animate`` and ``edit`` commands share: engine options and progress."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..pipeline.engine import LivePortraitEngine
from ..pipeline.precision import DEVICES, PRECISIONS

DEFAULT_WEIGHTS = Path(os.environ.get("LIVEPORTRAIT_WEIGHTS", "models/liveportrait"))


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS,
                        help="folder with the five checkpoints, flat or in the hub layout (default: %(default)s or $LIVEPORTRAIT_WEIGHTS)")
    parser.add_argument("--no-download", action="store_true", help="never fetch missing weights from the hub")
    parser.add_argument("--device", choices=DEVICES, default="auto")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto", help="auto: fp16 on NVIDIA GPUs (official default), fp32 on CPU")


@dataclass(frozen=True)
class EngineOptions:
    """Where the five checkpoints are and how the engine runs them (:func:`add_engine_arguments`)."""

    weights: Path
    device: str = "auto"
    precision: str = "auto"
    download: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "EngineOptions":
        return cls(args.weights, args.device, args.precision, download=not args.no_download)

    def load(self, variant: str = "human", compile: bool = False) -> LivePortraitEngine:
        return LivePortraitEngine.from_folder(self.weights, variant, self.device, self.precision,
                                              download=self.download, compile=compile)


def print_progress(done: int, total: int) -> None:
    print(f"\rrendered {done}/{total} frames", end="", file=sys.stderr, flush=True)
