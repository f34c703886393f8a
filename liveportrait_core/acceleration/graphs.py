"""The warping module and generator for one source and one frame at a time, captured once as a CUDA graph.

Live rendering runs at batch 1, where launching a few hundred kernels one by one costs a good part of the frame
(docs/performance.md). A CUDA graph records the launches once, for fixed input buffers (the source's feature
volume and keypoints, one driving keypoint set), and replays them per frame. Capture needs CUDA and kernels that
never wait for the host; where it fails, rendering goes on eagerly, with one warning.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import Tensor

Render = Callable[[Tensor, Tensor, Tensor], Tensor]  # (feature, kp_source, kp_driving) -> (B, 3, 512, 512)
WARM_UP = 3  # eager runs on a side stream before capture, so lazy initialisations are not recorded


class OneFrameGraph:
    """``render(feature, kp_source, kp_driving)`` for a fixed ``feature`` (1, 32, 16, 64, 64) and ``kp_source``
    (1, 21, 3), replayed for each (1, 21, 3) ``kp_driving``; the result is a view of the graph's output buffer,
    valid until the next call."""

    def __init__(self, render: Render, feature: Tensor, kp_source: Tensor):
        if feature.device.type != "cuda":
            raise ValueError(f"CUDA graphs need a CUDA device, the source is on {feature.device}")
        self._inputs = (feature, kp_source, torch.zeros_like(kp_source))
        side = torch.cuda.Stream(feature.device)
        side.wait_stream(torch.cuda.current_stream(feature.device))
        with torch.cuda.stream(side), torch.inference_mode():
            for _ in range(WARM_UP):
                render(*self._inputs)
        torch.cuda.current_stream(feature.device).wait_stream(side)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph), torch.inference_mode():
            self._output = render(*self._inputs)

    def __call__(self, kp_driving: Tensor) -> Tensor:
        self._inputs[2].copy_(kp_driving)
        self._graph.replay()
        return self._output


def one_frame_renderer(render: Render, feature: Tensor, kp_source: Tensor) -> Callable[[Tensor], Tensor] | None:
    """A :class:`OneFrameGraph` of ``render``, or None (with a warning) where it cannot be captured."""
    try:
        return OneFrameGraph(render, feature, kp_source)
    except Exception as err:  # capture fails in many ways (host syncs, unsupported kernels, no CUDA)
        warnings.warn(f"CUDA graph capture failed ({type(err).__name__}: {err}); rendering without it")
        return None

