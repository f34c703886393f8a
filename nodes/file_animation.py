"""What Render to Video File runs: a still source or a source video animated straight into a video file."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.faces.face_tracks import face_tracks
from ..liveportrait_core.media import Sound
from ..liveportrait_core.motion.driving import DrivingOptions
from ..liveportrait_core.pipeline.animation import detect_frames, plan_animation
from ..liveportrait_core.pipeline.driving_files import DrivingCrop
from ..liveportrait_core.pipeline.engine import SourceState
from ..liveportrait_core.pipeline.streaming import PasteTarget, animation_to_video, render_to_video
from .media_inputs import VideoSource
from .models import LoadedModels
from .payloads import DrivingMotion
from .render import progress_hook
from .retarget import retarget
from .stitch import stitch_keypoints

NODE = "Render to Video File"
AUDIO = ("auto", "source video", "driving video", "none")


@dataclass(frozen=True)
class VideoFile:
    """The file to write and how: ``audio`` the sound it keeps (None: silent), ``chunk_size`` frames rendered at a
    time (None: automatic), ``limit`` frames at most (None: all)."""

    path: Path
    audio: Sound | None
    chunk_size: int | None
    limit: int | None


def audio_file(choice: str, source_video: VideoSource | None, driving_video: VideoSource) -> Sound | None:
    """The sound that is kept (an :data:`AUDIO` choice): "auto" takes the source video's when there is one, else the
    driving video's (the official code prefers the driving video's; a source video edit keeps its own)."""
    if choice == "source video" and source_video is None:
        raise ValueError(f"{NODE}: audio is 'source video' but there is no source video; choose or connect one, or "
                         "choose another audio")
    chosen = {"auto": source_video or driving_video, "source video": source_video, "driving video": driving_video}
    video = chosen.get(choice)
    return None if video is None else video.sound


def animate_still(models: LoadedModels, source: SourceState, driving_video: VideoSource, detector: FaceDetector | None,
                  options: DrivingOptions, target: PasteTarget | None, out: VideoFile) -> float:
    """The still ``source`` driven by ``driving_video`` (Retarget, Stitch, Render, Paste Back into ``target``)
    written to ``out``; returns its fps (the driving video's)."""
    engine = models.ready()
    driving = driving_video.driving(engine, detector, DrivingCrop(), options, out.limit)
    keypoints = retarget(models, source, DrivingMotion(driving.motion, driving.is_image), options)
    if options.stitching:
        keypoints = stitch_keypoints(models, keypoints)
    render_to_video(engine, source, keypoints.final(), out.path, keypoints.fps, paste=target, audio_from=out.audio,
                    chunk_size=out.chunk_size, on_progress=progress_hook(len(keypoints)))
    return keypoints.fps


def animate_video(models: LoadedModels, source_video: VideoSource, driving_video: VideoSource,
                  detector: FaceDetector | None, options: DrivingOptions, feather: float, out: VideoFile) -> float:
    """The largest face of ``source_video`` (official source crop, followed through the frames) driven by
    ``driving_video`` on the official source-video path, pasted back into each frame as it is decoded, written
    to ``out``; returns its fps (the source video's)."""
    if detector is None:
        raise ValueError(f"{NODE}: a source video needs input 'detector' to find the face in its frames; connect "
                         "Load Face Detector")
    engine = models.ready()
    frames = source_video.source_frames(out.limit)
    (track,) = face_tracks(detect_frames(detector, frames), where=f"the source video {source_video.name}")
    driving = driving_video.driving(engine, detector, DrivingCrop(), options, out.limit)
    animation = plan_animation(engine, frames, [track], [driving], limit=out.limit)
    animation_to_video(animation, out.path, feather=feather, audio_from=out.audio, chunk_size=out.chunk_size,
                       on_progress=progress_hook(len(animation)))
    return animation.fps
