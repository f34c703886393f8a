"""Device results copied to the host once per chunk, without making the device's thread wait for them.

On CUDA the copy goes into pinned (page-locked) memory with ``non_blocking=True`` and an event marks its end; whoever
reads the frames waits for that event first (:meth:`HostFrames.wait`), typically the video writer's thread. On the
CPU the tensor is its own host copy (made contiguous).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


class HostFrames:
    """A tensor on its way to the host; :meth:`wait` returns it once it is there."""

    def __init__(self, tensor: Tensor):
        if tensor.device.type != "cuda":
            self._host, self._ready = tensor.cpu().contiguous(), None
            return
        self._host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
        self._host.copy_(tensor, non_blocking=True)
        self._ready = torch.cuda.Event()
        self._ready.record()

    def wait(self) -> Tensor:
        """The tensor on the host (waits for its copy to end)."""
        if self._ready is not None:
            self._ready.synchronize()
            self._ready = None
        return self._host

    def numpy(self) -> np.ndarray:
        """The host tensor as a numpy array (waits for its copy to end)."""
        return self.wait().numpy()
