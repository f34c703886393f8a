"""Rendering: warp the source feature volume to driven keypoints and decode 512x512 frames, chunk by chunk."""
from __future__ import annotations

import warnings
from typing import Callable, Iterator

import torch
from torch import Tensor, nn

from ..faces.images import uint8_frames

ProgressHook = Callable[[int, int], None]
Renderer = Callable[[Tensor], Tensor]  # (n, 21, 3) driving keypoints -> (n, 3, 512, 512) frames

# Peak device memory per frame of a render batch in fp16/bf16, as measured (docs/performance.md, memory against
# length); fp32 activations take twice that.
BYTES_PER_FRAME = {torch.float32: 520 * 2**20, torch.float16: 260 * 2**20, torch.bfloat16: 260 * 2**20}
MAX_CHUNK = {"cuda": 32, "cpu": 4}  # past these, bigger batches stop paying (measured) while memory keeps growing


def free_memory(device: torch.device) -> int | None:
    """Bytes free for tensors on ``device`` (CUDA: the driver's figure; CPU: MemAvailable), None when unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "cpu":
        try:
            with open("/proc/meminfo") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
        except (OSError, StopIteration):
            return None
    return None


def auto_chunk_size(device: torch.device, dtype: torch.dtype, budget: float = 0.5) -> int:
    """Frames per render batch that fit in ``budget`` of the free memory (at least 1, at most :data:`MAX_CHUNK`)."""
    limit = MAX_CHUNK.get(device.type, 4)
    free = free_memory(device)
    if free is None:
        return min(4, limit)
    return max(1, min(limit, int(free * budget // BYTES_PER_FRAME[dtype])))


def warp_decode(warping: nn.Module, generator: nn.Module, feature: Tensor, kp_source: Tensor, kp_driving: Tensor) -> Tensor:
    """One batch: feature (1 or B, 32, 16, 64, 64), kp_source (1 or B, 21, 3), kp_driving (B, 21, 3) -> (B, 3, 512, 512)."""
    b = kp_driving.shape[0]
    feature = feature.expand(b, *feature.shape[1:])
    kp_source = kp_source.expand(b, *kp_source.shape[1:])
    return generator(warping(feature, kp_driving, kp_source)["out"])


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is an allocation failure: CUDA/MPS/XPU out of memory, or the CPU allocator giving up."""
    return isinstance(err, torch.OutOfMemoryError) or (isinstance(err, RuntimeError) and "can't allocate memory" in str(err))


def _release_cached_memory(device: torch.device) -> None:
    """Hand the allocator's cached blocks back so a smaller batch can use them."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


@torch.inference_mode()
def render_chunks(warping: nn.Module, generator: nn.Module, feature: Tensor, kp_source: Tensor, kp_driving: Tensor,
                  chunk_size: int = 4, on_progress: ProgressHook | None = None,
                  pad_last: bool = False, fallback: Renderer | None = None) -> Iterator[Tensor]:
    """Yield float32 (n, 3, 512, 512) renders in [0, 1] for consecutive chunks of the N driven keypoint sets.

    Memory stays bounded by ``chunk_size`` whatever N is; a chunk that runs out of memory is rendered
    again at half the size (and the rest of the video with it), down to one frame, with a warning, so a
    too-large chunk size costs speed, not the render. ``on_progress(done, total)`` runs after each chunk
    and may raise to stop rendering (interrupts). ``pad_last`` renders a short last chunk at full size
    (repeating its last frame), so compiled networks see one batch shape only. A chunk with NaN or Inf
    (low-precision overflow) is rendered again with ``fallback`` instead of becoming black frames.

    Raises:
        MemoryError: not even one frame fits.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    total, start = kp_driving.shape[0], 0
    while start < total:
        kd = kp_driving[start:start + chunk_size]
        n = kd.shape[0]
        if pad_last and n < chunk_size:
            kd = torch.cat([kd, kd[-1:].expand(chunk_size - n, -1, -1)])
        try:
            frames = warp_decode(warping, generator, feature, kp_source, kd)[:n].float()
        except RuntimeError as err:
            if not is_out_of_memory(err):
                raise
            frames = None  # handled below, once the failed batch's tensors are released with the exception
        if frames is None:
            _release_cached_memory(kp_driving.device)
            if chunk_size == 1:
                raise MemoryError(f"out of memory rendering frame {start} even one frame at a time on "
                                  f"{kp_driving.device.type}: free memory (close other programs or models) or load the "
                                  "models in fp16/bf16") from None
            chunk_size = max(1, chunk_size // 2)
            warnings.warn(f"out of memory at frame {start}; rendering on in chunks of {chunk_size} frames")
            continue
        if fallback is not None and not bool(torch.isfinite(frames).all()):
            warnings.warn(f"frames {start}-{start + n - 1} overflowed in low precision; rendered them again in float32")
            frames = fallback(kd[:n]).float()
        yield frames
        start += n
        if on_progress is not None:
            on_progress(start, total)


def to_uint8(frames: Tensor) -> Tensor:
    """:func:`uint8_frames` on the CPU."""
    return uint8_frames(frames).cpu()
