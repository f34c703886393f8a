"""Animating faces in a still image or a source video: one face or several, each with its own driver.

Typical use::

    frames = SourceFrames.video("in.mp4")                          # or SourceFrames.image("portrait.jpg")
    tracks = face_tracks(detect_frames(detector, frames), "all")   # every face, followed through the frames
    plan = plan_animation(engine, frames, tracks, [FaceDriving(motion_a), FaceDriving(motion_b, options=...)])
    for chunk in plan.render(masks=True):                          # uint8 frames + one mask per face
        ...

The output timeline pairs the source frames with every driver by a frame policy (``frame_policy``):
"shortest" (the official choice for a source video) stops with the shortest; the others run to the
longest. For a source video, frames where a face is missing keep their pixels (see :attr:`Animation.missing`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from ..faces import CropTrack, FaceDetections, FaceDetector
from ..faces.pasteback import DEFAULT_FEATHER
from ..motion.frame_policy import align_frames
from ..profiling import StageTimer
from .compositing import AnimatedFace, CompositeChunk, render_faces
from .engine import LivePortraitEngine
from .face_keypoints import FaceDriving, face_keypoints
from .render import ProgressHook
from .source_frames import SourceFrames
from .source_motion import CHUNK, source_motions
from .video_to_video import SourceVideoOptions


def detect_frames(detector: FaceDetector, frames: SourceFrames) -> list[FaceDetections]:
    """The faces found in every source frame (one streaming pass)."""
    return [d for chunk in frames.chunks(CHUNK) for d in detector.detect(chunk)]


@dataclass
class Animation:
    """Planned output: L frames, frame i showing source frame ``source_index[i]`` with every face driven."""

    engine: LivePortraitEngine
    frames: SourceFrames
    faces: list[AnimatedFace]
    source_index: list[int]
    fps: float

    def __len__(self) -> int:
        return len(self.source_index)

    @property
    def missing(self) -> list[list[int]]:
        """Per face, the source frames in the output where it was not found (left as they are)."""
        used = sorted(set(self.source_index))
        return [[i for i, ok in zip(used, face.found(used).tolist()) if not ok] for face in self.faces]

    def render(self, chunk_size: int | None = None, feather: float = DEFAULT_FEATHER, paste: bool = True,
               masks: bool = False, on_progress: ProgressHook | None = None,
               timer: StageTimer | None = None) -> Iterator[CompositeChunk]:
        """The output frames chunk by chunk, with each face's mask if asked (see :func:`~.compositing.render_faces`)."""
        return render_faces(self.engine, self.frames, self.faces, self.source_index, chunk_size=chunk_size,
                            feather=feather, paste=paste, masks=masks, on_progress=on_progress, timer=timer)


def plan_animation(engine: LivePortraitEngine, frames: SourceFrames, tracks: Sequence[CropTrack | None],
                   drivings: Sequence[FaceDriving], *, policy: str = "shortest", limit: int | None = None,
                   video: SourceVideoOptions = SourceVideoOptions(),
                   landmarks: Sequence[CropTrack | None] | None = None) -> Animation:
    """Each face's own motion (one pass over the source frames), the output timeline and every face's keypoints.

    Args:
        tracks: per face, its crop track over the source frames (see ``faces.face_tracks``, ``faces.box_crop``);
            None animates the whole picture uncropped (one face, no paste-back).
        drivings: per face, what drives it (a motion, expression sliders editing a source video, or both).
        policy: how source frames and drivers of different lengths are paired (``frame_policy.POLICIES``).
        limit: at most this many output frames.
        video: options of the source-video path.
        landmarks: per face, a track whose landmarks give the eye/lip ratios where ``tracks`` has none (the
            detected faces of uncropped pictures); default ``tracks``.

    Returns:
        The plan; the output fps is the source video's, or the first driver's for a still source.
    """
    if len(tracks) != len(drivings) or not tracks:
        raise ValueError(f"need one driver per face, got {len(tracks)} face(s) and {len(drivings)} driver(s)")
    motions = source_motions(engine, frames, tracks, landmarks)
    source_index, *driving_index = align_frames([frames.count] + [d.frames for d in drivings], policy, limit)
    faces = [AnimatedFace(track, motion, face_keypoints(engine, motion, driving, source_index, index, video))
             for track, motion, driving, index in zip(tracks, motions, drivings, driving_index)]
    fps = frames.fps or next((d.motion.fps for d in drivings if d.motion is not None), 25.0)
    return Animation(engine, frames, faces, source_index, fps)


def frame_ranges(indices: Iterable[int]) -> str:
    """Frame indices as compact text: [2, 7, 8, 9] -> "2, 7-9"."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
