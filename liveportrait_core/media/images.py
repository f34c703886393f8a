"""Still images with Pillow: reading any image as uint8 RGB, writing frames as numbered PNGs.

Frames are uint8 RGB numpy arrays: one image is (H, W, 3), a batch (n, H, W, 3).
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# White: a cut-out portrait (transparent background) then gets a clean, neutral background
# instead of whatever colour the encoder left under fully transparent pixels.
ALPHA_BACKGROUND = (255, 255, 255)
_HIGH_DEPTH_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # Pillow modes read on a 0..65535 scale


class MediaError(ValueError):
    """A file that cannot be read or written as an image or video; the message names the file."""


def read_image(path: str | Path, background: tuple[int, int, int] = ALPHA_BACKGROUND) -> np.ndarray:
    """Read any Pillow image as uint8 (H, W, 3) RGB, upright per its EXIF orientation.

    Greyscale is replicated to three channels, 16-bit images are scaled (not clipped) to
    8 bits, and transparency (RGBA, LA, palette or colour-key) is composited over ``background``.
    """
    path = Path(path)
    try:
        with Image.open(path) as img:
            img = ImageOps.exif_transpose(img)
            return _to_rgb(img, background)
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"cannot read image {path}: {exc}") from exc


def _to_rgb(img: Image.Image, background: tuple[int, int, int]) -> np.ndarray:
    """A Pillow image of any mode as a uint8 (H, W, 3) RGB array."""
    if img.mode in _HIGH_DEPTH_GREY:
        grey = np.asarray(img, dtype=np.float64) / 257.0
        return np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        return np.asarray(Image.alpha_composite(canvas, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def write_png_frames(
    folder: str | Path, frames: Iterable[np.ndarray], start_index: int = 0, compress_level: int = 1
) -> list[Path]:
    """Write uint8 RGB frames losslessly as ``folder/000000.png, 000001.png, ...`` from ``start_index``.

    ``frames`` may be one (n, H, W, 3) batch or any iterable of (H, W, 3) frames, so a long render
    can be written chunk by chunk. Compression level 1 is lossless like the others, only faster.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, frame in enumerate(frames, start=start_index):
        out = folder / f"{index:06d}.png"
        Image.fromarray(checked_frames(np.asarray(frame)[None], out)[0]).save(out, compress_level=compress_level)
        written.append(out)
    return written


def checked_frames(frames: np.ndarray, path: Path) -> np.ndarray:
    """``frames`` as uint8 (n, H, W, 3), or a MediaError saying what is wrong."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise MediaError(f"{path}: frames must be uint8 (n, H, W, 3) RGB, got {frames.dtype} {frames.shape}")
    return frames
