"""Node: animate the source with a driving video file straight into a video file, in memory bounded by one chunk."""
from __future__ import annotations

import os
from pathlib import Path

from torch import Tensor

from ..liveportrait_core.driving_input import DrivingCrop, load_driving
from ..liveportrait_core.engine import SourceState
from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from ..liveportrait_core.streaming import PasteTarget, render_to_video
from .choices import check_choices
from .comfy import ProgressBar, folder_paths, io, model_management, ui
from .images import check_image, to_uint8
from .models import LoadedModels
from .payloads import DrivingMotion, FaceCrop
from .render import chunk_input
from .retarget import driving_options, option_inputs, retarget
from .sockets import CATEGORY, Crop, Detector, Models, Source
from .stitch import stitch_keypoints

NODE = "Render to Video File"


def input_videos() -> list[str]:
    """The video files of ComfyUI's input folder, as core Load Video lists them."""
    folder = folder_paths.get_input_directory()
    files = [f for f in os.listdir(folder) if os.path.isfile(os.path.join(folder, f))]
    return sorted(folder_paths.filter_files_content_types(files, ["video"]))


def paste_target(crop: FaceCrop | None, original: Tensor | None, feather: float) -> PasteTarget | None:
    """Where the renders are pasted back: both inputs connected, or neither (the 512x512 renders are written)."""
    if (crop is None) != (original is None):
        raise ValueError(f"{NODE}: connect both 'crop' and 'original' to paste the face back, or neither")
    if crop is None:
        return None
    check_image(original, f"{NODE}: input 'original'")
    crop.check_frames(NODE, "original", original.shape[0])
    if not bool(crop.track.found[0]):
        raise ValueError(f"{NODE}: the crop found no face in 'original'; nothing can be pasted back")
    return PasteTarget(to_uint8(original)[0].cpu().numpy(), crop.track.crop_to_original[:1], crop.track.dsize, feather)


def output_path(prefix: str) -> tuple[Path, str]:
    """A fresh ``<prefix>_NNNNN_.mp4`` in ComfyUI's output folder, and its subfolder there."""
    folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(prefix, folder_paths.get_output_directory())
    return Path(folder) / f"{name}_{counter:05}_.mp4", subfolder


class RenderToFile(io.ComfyNode):
    """Render to Video File."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_RenderToFile",
            display_name="Render to Video File (LivePortrait)",
            category=CATEGORY,
            description="Extract Motion, Retarget, Stitch, Render, Paste Back and Save Video in one streaming pass, for "
                        "long driving videos: the driving video is decoded in chunks, and each rendered chunk is pasted "
                        "back and encoded before the next, so memory does not grow with the video's length. Keeps the "
                        "driving video's sound and frame rate. Cancel stops after the chunk being rendered and deletes "
                        "the unfinished file.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", tooltip="From Extract Appearance."),
                io.Combo.Input("driving_video", options=input_videos(), upload=io.UploadType.video,
                               tooltip="A driving video in ComfyUI's input folder (face crops, or any video when "
                                       "'detector' is connected to crop it)."),
                Crop.Input("crop", optional=True,
                           tooltip="The crop output of Crop Faces that made the source; with 'original', pastes the "
                                   "animated face back into the picture."),
                io.Image.Input("original", optional=True,
                               tooltip="The picture that went into Crop Faces; leave 'crop' and this empty to write "
                                       "the 512x512 renders."),
                Detector.Input("detector", optional=True,
                               tooltip="Crops driving frames that are not already face crops (square, at most 512 px), "
                                       "and gives the eye / lip ratios that retargeting needs."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                io.Float.Input("feather", default=DEFAULT_FEATHER, min=0.0, max=256.0, step=1.0,
                               tooltip="Width of the paste-back mask's soft edge, in crop pixels (official 16; 0 = hard edge)."),
                chunk_input(),
                io.Int.Input("max_frames", default=0, min=0, max=10**7,
                             tooltip="Animate only the first N driving frames (the rest is not even decoded); 0 = all."),
                io.String.Input("filename_prefix", default="LivePortrait/video",
                                tooltip="File name start in ComfyUI's output folder; a counter and .mp4 are appended. "
                                        "May contain subfolders."),
            ],
            outputs=[
                io.String.Output(display_name="path", tooltip="Full path of the written .mp4 (H.264, with the driving audio)."),
                io.Float.Output(display_name="fps", tooltip="The driving (and output) frame rate."),
            ],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, driving_video: str, driving_option: str, animation_region: str) -> bool | str:
        if driving_video is not None and not folder_paths.exists_annotated_filepath(driving_video):
            return f"Invalid video file: {driving_video}"
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region)

    @classmethod
    def fingerprint_inputs(cls, driving_video: str, **_) -> float:
        return os.path.getmtime(folder_paths.get_annotated_filepath(driving_video))

    @classmethod
    def execute(cls, models: LoadedModels, source: SourceState, driving_video: str, stitching: bool, feather: float,
                chunk_size: int, max_frames: int, filename_prefix: str, crop: FaceCrop | None = None,
                original: Tensor | None = None, detector: FaceDetector | None = None, **options) -> io.NodeOutput:
        target = paste_target(crop, original, feather)
        engine = models.ready()
        video = Path(folder_paths.get_annotated_filepath(driving_video))
        core_options = driving_options(**options)
        driving = load_driving(engine, video, detector, DrivingCrop(), core_options, max_frames or None)
        keypoints = retarget(models, source, DrivingMotion(driving.motion, driving.is_image), core_options)
        if stitching:
            keypoints = stitch_keypoints(models, keypoints)
        bar = ProgressBar(len(keypoints))

        def progress(done: int, total: int) -> None:
            for i in range(bar.current + 1, done + 1):  # one update per frame
                bar.update_absolute(i, total)
            model_management.throw_exception_if_processing_interrupted()

        path, subfolder = output_path(filename_prefix)
        try:
            render_to_video(engine, source, keypoints.final(), path, keypoints.fps, paste=target, audio_from=video,
                            chunk_size=chunk_size or None, on_progress=progress)
        except BaseException:  # interrupted or failed: no half-finished file outside the history
            path.unlink(missing_ok=True)
            raise
        return io.NodeOutput(str(path), keypoints.fps,
                             ui=ui.PreviewVideo([ui.SavedResult(path.name, subfolder, io.FolderType.output)]))
