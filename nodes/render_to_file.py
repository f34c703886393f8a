"""Node: animate a still source, or the face of a source video file, with a driving video file straight into a
video file, in memory bounded by one chunk."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from torch import Tensor

from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from ..liveportrait_core.pipeline.engine import SourceState
from ..liveportrait_core.pipeline.streaming import PasteTarget
from .choices import check_choices
from .comfy import folder_paths, io, ui
from .file_animation import AUDIO, NODE, VideoFile, animate_still, animate_video, audio_file
from .images import check_image, to_uint8
from .models import LoadedModels
from .payloads import FaceCrop
from .render import chunk_input
from .retarget import driving_options, option_inputs
from .sockets import CATEGORY, Crop, Detector, Models, Source

NO_VIDEO = "none"


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
    return PasteTarget(to_uint8(original)[0].cpu().numpy(), crop.track.select([0]), feather)


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
                        "long videos: the driving video (and a source video) is decoded in chunks, and each rendered "
                        "chunk is pasted back and encoded before the next, so memory does not grow with the video's "
                        "length. Animates a still source (from Extract Appearance), or the largest face of a source "
                        "video (video-to-video, official source-video path; frames without the face are kept as they "
                        "are). The output has the source video's frame rate, else the driving video's. Cancel stops "
                        "after the chunk being rendered and deletes the unfinished file.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", optional=True,
                             tooltip="From Extract Appearance, to animate a still portrait; leave empty when "
                                     "'source_video' is chosen."),
                io.Combo.Input("driving_video", options=input_videos(), upload=io.UploadType.video,
                               tooltip="A driving video in ComfyUI's input folder (face crops, or any video when "
                                       "'detector' is connected to crop it)."),
                io.Combo.Input("source_video", options=[NO_VIDEO, *input_videos()], default=NO_VIDEO, optional=True,
                               tooltip="A source video in ComfyUI's input folder whose largest face is animated (needs "
                                       "'detector'; official source crop and options); 'none' animates 'source'."),
                io.Combo.Input("audio", options=list(AUDIO), default="auto", optional=True,
                               tooltip="Whose sound the file keeps: auto = the source video's when one is chosen, else "
                                       "the driving video's (the official code prefers the driving video's)."),
                Crop.Input("crop", optional=True,
                           tooltip="The crop output of Crop Faces that made the source; with 'original', pastes the "
                                   "animated face back into the picture."),
                io.Image.Input("original", optional=True,
                               tooltip="The picture that went into Crop Faces; leave 'crop' and this empty to write "
                                       "the 512x512 renders."),
                Detector.Input("detector", optional=True,
                               tooltip="Crops driving frames that are not already face crops (square, at most 512 px), "
                                       "gives the eye / lip ratios that retargeting needs, and finds the face of a "
                                       "source video."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                io.Float.Input("feather", default=DEFAULT_FEATHER, min=0.0, max=256.0, step=1.0,
                               tooltip="Width of the paste-back mask's soft edge, in crop pixels (official 16; 0 = hard edge)."),
                chunk_input(),
                io.Int.Input("max_frames", default=0, min=0, max=10**7,
                             tooltip="Animate only the first N frames (the rest of the videos is not even decoded); "
                                     "0 = all."),
                io.String.Input("filename_prefix", default="LivePortrait/video",
                                tooltip="File name start in ComfyUI's output folder; a counter and .mp4 are appended. "
                                        "May contain subfolders."),
            ],
            outputs=[
                io.String.Output(display_name="path", tooltip="Full path of the written .mp4 (H.264, with the chosen audio)."),
                io.Float.Output(display_name="fps", tooltip="The output frame rate: the source video's, else the driving video's."),
            ],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, driving_video: str, driving_option: str, animation_region: str,
                        source_video: str = NO_VIDEO, audio: str = "auto") -> bool | str:
        for video in (driving_video, None if source_video == NO_VIDEO else source_video):
            if video is not None and not folder_paths.exists_annotated_filepath(video):
                return f"Invalid video file: {video}"
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region, audio=audio)

    @classmethod
    def fingerprint_inputs(cls, driving_video: str, source_video: str = NO_VIDEO, **_) -> tuple[float, ...]:
        videos = [driving_video] + ([] if source_video == NO_VIDEO else [source_video])
        return tuple(os.path.getmtime(folder_paths.get_annotated_filepath(v)) for v in videos)

    @classmethod
    def execute(cls, models: LoadedModels, driving_video: str, stitching: bool, feather: float, chunk_size: int,
                max_frames: int, filename_prefix: str, source: SourceState | None = None, source_video: str = NO_VIDEO,
                audio: str = "auto", crop: FaceCrop | None = None, original: Tensor | None = None,
                detector: FaceDetector | None = None, **options) -> io.NodeOutput:
        if (source is None) == (source_video == NO_VIDEO):
            raise ValueError(f"{NODE}: connect 'source' (a still portrait) or choose a 'source_video', exactly one "
                             f"(got {'both' if source is not None else 'neither'})")
        if source_video != NO_VIDEO and (crop is not None or original is not None):
            raise ValueError(f"{NODE}: 'crop' and 'original' paste a still source back; a source video is cropped and "
                             "pasted back by this node itself, so disconnect them")
        driving = Path(folder_paths.get_annotated_filepath(driving_video))
        video = None if source_video == NO_VIDEO else Path(folder_paths.get_annotated_filepath(source_video))
        core_options = replace(driving_options(**options), stitching=stitching)
        path, subfolder = output_path(filename_prefix)
        out = VideoFile(path, audio_file(audio, video, driving), chunk_size or None, max_frames or None)
        try:
            if video is None:
                fps = animate_still(models, source, driving, detector, core_options,
                                    paste_target(crop, original, feather), out)
            else:
                fps = animate_video(models, video, driving, detector, core_options, feather, out)
        except BaseException:  # interrupted or failed: no half-finished file outside the history
            path.unlink(missing_ok=True)
            raise
        return io.NodeOutput(str(path), fps, ui=ui.PreviewVideo([ui.SavedResult(path.name, subfolder, io.FolderType.output)]))
