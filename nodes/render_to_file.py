"""Node: animate a still source, or the face of a source video, with a driving video straight into a video file, in
memory bounded by one chunk (videos given as files in ComfyUI's input folder or as VIDEO inputs)."""
from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

from torch import Tensor

from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from ..liveportrait_core.pipeline.engine import SourceState
from ..liveportrait_core.pipeline.streaming import PasteTarget
from .choices import check_choices
from .comfy import Input, folder_paths, io, ui
from .file_animation import AUDIO, NODE, VideoFile, animate_still, animate_video, audio_file
from .images import check_image, to_uint8
from .media_inputs import VideoSource, video_source, waveform
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


@contextmanager
def chosen_video(choice: str, connected: Input.Video | None, role: str) -> Iterator[VideoSource | None]:
    """One role's video: the file chosen in the combo ``role``, or the VIDEO connected to ``<role>_in``; None when
    neither is given. Both at once is refused, so a workflow never uses a file its canvas does not show in use."""
    if connected is None:
        yield None if choice == NO_VIDEO else VideoSource.file(Path(folder_paths.get_annotated_filepath(choice)))
        return
    if choice != NO_VIDEO:
        raise ValueError(f"{NODE}: '{role}' names the file {choice} and a VIDEO is connected to '{role}_in'; set "
                         f"'{role}' to '{NO_VIDEO}' to use the connected video, or disconnect it")
    with video_source(connected, f"{NODE}: input '{role}_in'") as video:
        yield video


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
                        "are). Videos are files in ComfyUI's input folder or VIDEO inputs (Load Video, Create Video); "
                        "'audio_in' replaces the sound. The output has the source video's frame rate, else the "
                        "driving video's, and its sound lasts exactly as long as its frames. Cancel stops after the "
                        "chunk being rendered and deletes the unfinished file.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", optional=True,
                             tooltip="From Extract Appearance, to animate a still portrait; leave empty when a "
                                     "source video is given ('source_video' or 'source_video_in')."),
                io.Combo.Input("driving_video", options=[*input_videos(), NO_VIDEO], upload=io.UploadType.video,
                               tooltip="A driving video in ComfyUI's input folder (face crops, or any video when "
                                       "'detector' is connected to crop it); 'none' when a VIDEO is connected to "
                                       "'driving_video_in'."),
                io.Video.Input("driving_video_in", optional=True,
                               tooltip="The driving video as a VIDEO (Load Video streams its file chunk by chunk; "
                                       "Create Video's frames are already in memory), instead of the 'driving_video' "
                                       "file: set that to 'none'. Its frame rate is the output's for a still source."),
                io.Combo.Input("source_video", options=[NO_VIDEO, *input_videos()], default=NO_VIDEO, optional=True,
                               tooltip="A source video in ComfyUI's input folder whose largest face is animated (needs "
                                       "'detector'; official source crop and options); 'none' animates 'source' or "
                                       "the VIDEO connected to 'source_video_in'."),
                io.Video.Input("source_video_in", optional=True,
                               tooltip="The source video as a VIDEO, instead of a 'source_video' file (leave that "
                                       "'none'); the output has its frame rate."),
                io.Combo.Input("audio", options=list(AUDIO), default="auto", optional=True,
                               tooltip="Whose sound the file keeps: auto = the source video's when there is one, else "
                                       "the driving video's (the official code prefers the driving video's). Cut to "
                                       "the video's length, or followed by silence where it is shorter."),
                io.Audio.Input("audio_in", optional=True,
                               tooltip="A sound that replaces the one 'audio' chooses (Load Audio, a video loader's "
                                       "audio); cut to the video's length, or followed by silence where it is "
                                       "shorter."),
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
        for video in (driving_video, source_video):
            if video != NO_VIDEO and not folder_paths.exists_annotated_filepath(video):
                return f"Invalid video file: {video}"
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region, audio=audio)

    @classmethod
    def fingerprint_inputs(cls, driving_video: str, source_video: str = NO_VIDEO, **_) -> tuple[float, ...]:
        # the files chosen in the combos; a VIDEO input is fingerprinted by the node that made it (e.g. Load Video)
        videos = [v for v in (driving_video, source_video) if v != NO_VIDEO]
        return tuple(os.path.getmtime(folder_paths.get_annotated_filepath(v)) for v in videos)

    @classmethod
    def execute(cls, models: LoadedModels, driving_video: str, stitching: bool, feather: float, chunk_size: int,
                max_frames: int, filename_prefix: str, source: SourceState | None = None, source_video: str = NO_VIDEO,
                audio: str = "auto", crop: FaceCrop | None = None, original: Tensor | None = None,
                detector: FaceDetector | None = None, driving_video_in: Input.Video | None = None,
                source_video_in: Input.Video | None = None, audio_in: Mapping | None = None,
                **options) -> io.NodeOutput:
        with ExitStack() as videos:
            driving = videos.enter_context(chosen_video(driving_video, driving_video_in, "driving_video"))
            video = videos.enter_context(chosen_video(source_video, source_video_in, "source_video"))
            if driving is None:
                raise ValueError(f"{NODE}: choose a 'driving_video' file or connect a VIDEO to 'driving_video_in'")
            if (source is None) == (video is None):
                raise ValueError(f"{NODE}: connect 'source' (a still portrait), or give a source video ('source_video' "
                                 "or 'source_video_in'), exactly one (got "
                                 f"{'both' if source is not None else 'neither'})")
            if video is not None and (crop is not None or original is not None):
                raise ValueError(f"{NODE}: 'crop' and 'original' paste a still source back; a source video is cropped "
                                 "and pasted back by this node itself, so disconnect them")
            sound = (audio_file(audio, video, driving) if audio_in is None
                     else waveform(audio_in, f"{NODE}: input 'audio_in'"))
            core_options = replace(driving_options(**options), stitching=stitching)
            path, subfolder = output_path(filename_prefix)
            out = VideoFile(path, sound, chunk_size or None, max_frames or None)
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
