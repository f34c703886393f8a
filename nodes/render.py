"""Node: render the driven source, chunk by chunk, with per-frame progress and interrupts between chunks."""
from __future__ import annotations

import torch
from PIL import Image
from torch import Tensor

from ..liveportrait_core.pipeline.render import ProgressHook, to_uint8
from .comfy import ProgressBar, io, model_management
from .images import to_image
from .models import LoadedModels
from .payloads import DrivenKeypoints
from .sockets import CATEGORY, Keypoints, Models


def progress_hook(total: int) -> ProgressHook:
    """A core ``on_progress`` for ``total`` frames: moves a ProgressBar once per finished frame (a chunk brings
    several) and stops with ComfyUI's interrupt between chunks when Cancel was pressed."""
    bar = ProgressBar(total)

    def progress(done: int, total: int) -> None:
        for i in range(bar.current + 1, done + 1):
            bar.update_absolute(i, total)
        model_management.throw_exception_if_processing_interrupted()

    return progress


def chunk_input() -> io.Int.Input:
    """The chunk_size input of the nodes that render."""
    return io.Int.Input("chunk_size", default=0, min=0, max=256,
                        tooltip="Frames rendered per batch; 0 = automatic (what fits in half the free memory, at most "
                                "4 on CPU and 32 on GPU). Larger is faster and needs more memory; Cancel waits for "
                                "the batch being rendered.")


def _preview(frames: Tensor) -> tuple[str, Image.Image, None]:
    """The last frame of a chunk as the progress bar's preview."""
    return "JPEG", Image.fromarray(to_uint8(frames[-1:])[0].numpy()), None


def render(models: LoadedModels, keypoints: DrivenKeypoints, chunk_size: int) -> Tensor:
    """(N, 512, 512, 3) IMAGE: the source rendered at every frame's keypoints.

    ``chunk_size`` 0 picks it from the free memory. The progress bar advances once per frame; an interrupt
    stops rendering after the chunk in progress.
    """
    engine = models.ready()
    total = len(keypoints)
    bar = ProgressBar(total)
    out: Tensor | None = None
    done = 0
    for frames in engine.render(keypoints.source, keypoints.final(), chunk_size or None):
        image = to_image(frames)
        if out is None:
            out = torch.empty((total, *image.shape[1:]), dtype=image.dtype, device=image.device)
        n = image.shape[0]
        out[done:done + n] = image
        for i in range(1, n + 1):
            bar.update_absolute(done + i, total, _preview(frames) if i == n else None)
        done += n
        model_management.throw_exception_if_processing_interrupted()
    return out


class Render(io.ComfyNode):
    """Render."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_Render",
            display_name="Render (LivePortrait)",
            category=CATEGORY,
            description="Warps the source's features to each frame's keypoints and decodes 512x512 frames, "
                        "chunk_size frames at a time; the progress bar shows each finished frame and a preview, and "
                        "Cancel stops after the chunk being rendered.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Keypoints.Input("keypoints", tooltip="From Stitch (or from Retarget to render without stitching)."),
                chunk_input(),
            ],
            outputs=[
                io.Image.Output(display_name="frames", tooltip="The animated 512x512 frames, one per driving frame."),
                io.Float.Output(display_name="fps", tooltip="The driving frame rate, for Create Video."),
            ],
        )

    @classmethod
    def execute(cls, models: LoadedModels, keypoints: DrivenKeypoints, chunk_size: int) -> io.NodeOutput:
        return io.NodeOutput(render(models, keypoints, chunk_size), keypoints.fps)
