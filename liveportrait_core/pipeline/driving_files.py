"""Driving motion from a file: a video (auto-cropped unless it is already a face crop), an image or a template."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal

import numpy as np
import torch

from ..faces import DRIVING_CROP, CropParams, FaceDetector, cut_crops, is_prepared_crop, network_input, track_driving_frames
from ..faces.crop import MissingFace
from ..faces.crop_smoothing import fill_gaps
from ..faces.driving_crop import DrivingMode
from ..faces.images import frames_tensor
from ..media import MediaError, image_or_video, iter_video_frames, probe_video, read_ahead, read_image
from ..motion.driving import DrivingOptions
from ..motion.templates import TEMPLATE_EXTENSIONS, load_template
from ..profiling import StageTimer
from .engine import LivePortraitEngine
from .face_keypoints import FaceDriving

IMAGE_FPS = 25.0  # official output fps when nothing else sets it
CHUNK = 16
READ_AHEAD = 2  # decoded chunks waiting for the motion extractor at most


MediaKind = Literal["image", "video", "template"]


def media_kind(path: str | Path) -> MediaKind:
    """Whether ``path`` is a motion template (by extension), a still image or a video (:func:`~liveportrait_core.media.image_or_video`)."""
    if Path(path).suffix.lower() in TEMPLATE_EXTENSIONS:
        return "template"
    try:
        return image_or_video(path)
    except MediaError as exc:  # the reader's own error, under a message that names templates too
        raise MediaError(f"{path} is neither an image, a video nor a motion template ({exc.__cause__})") from exc.__cause__

@dataclass(frozen=True)
class DrivingCrop:
    """How raw driving frames are cropped.

    mode: "auto" crops unless the frames are square and at most 512 px (already face crops), "on", "off".
    params: the crop geometry (official scale 2.2, vy −0.1, axis-aligned).
    tracking: "average" (one box for the clip, official) or "smooth" (a smoothed per-frame box).
    on_missing: a frame without a face: "fail" naming it, or "skip" (cropped like its neighbours).
    """

    mode: str = "auto"
    params: CropParams = DRIVING_CROP
    tracking: DrivingMode = "average"
    on_missing: MissingFace = "fail"

    def applies(self, width: int, height: int) -> bool:
        return self.mode == "on" or (self.mode == "auto" and not is_prepared_crop(width, height))


@dataclass(frozen=True)
class DrivingFrames:
    """Driving frames wherever they are (a file decoded in chunks, frames in memory): each call of ``chunks()``
    yields them again from the first as uint8 (n, H, W, 3) chunks. ``name`` names them in errors; ``is_image``: one
    still driving image (the official driving-image mode)."""

    chunks: Callable[[], Iterator[np.ndarray]]
    fps: float
    width: int
    height: int
    name: str
    is_image: bool = False


def load_driving(engine: LivePortraitEngine, path: str | Path, detector: FaceDetector | None,
                 crop: DrivingCrop = DrivingCrop(), options: DrivingOptions = DrivingOptions(),
                 limit: int | None = None, timer: StageTimer | None = None) -> FaceDriving:
    """The driving motion of a video, image or template file, with per-frame eye/lip ratios when the options use them.

    A video is decoded on a background thread, up to :data:`READ_AHEAD` chunks ahead of the detector and the motion
    extractor.

    Args:
        detector: finds the driving faces (needed to crop, or for ratios); may be None otherwise.
        limit: read at most this many frames.
        timer: counts the stages "decode", "detect", "crop" and "motion".

    Raises:
        NoFaceError: a driving frame has no face (with ``on_missing="fail"``; the message names it).
    """
    path = Path(path)
    timer = timer or StageTimer(enabled=False)
    kind = media_kind(path)
    if kind == "template":
        motion = load_template(path)
        return FaceDriving(motion if limit is None else motion.select(slice(0, limit)), False, options)
    if kind == "image":
        image = read_image(path)[None]
        frames = DrivingFrames(lambda: iter([image]), IMAGE_FPS, image.shape[2], image.shape[1], str(path), True)
    else:
        info = probe_video(path)

        def chunks() -> Iterator[np.ndarray]:
            return read_ahead(timer.iterate("decode", iter_video_frames(path, chunk=CHUNK, limit=limit)), READ_AHEAD,
                              "driving-decode")

        frames = DrivingFrames(chunks, info.fps, info.width, info.height, str(path))
    return driving_motion(engine, frames, detector, crop, options, timer)


def driving_motion(engine: LivePortraitEngine, frames: DrivingFrames, detector: FaceDetector | None,
                   crop: DrivingCrop = DrivingCrop(), options: DrivingOptions = DrivingOptions(),
                   timer: StageTimer | None = None) -> FaceDriving:
    """The driving motion of ``frames`` (cropped as ``crop`` says), with per-frame eye/lip ratios when the options use
    them; the frames are read in chunks, twice when a detector has to see them first. Arguments as
    :func:`load_driving`'s."""
    timer = timer or StageTimer(enabled=False)
    cropping = crop.applies(frames.width, frames.height)
    ratios = options.eye_retargeting or options.lip_retargeting
    track = None
    if cropping or ratios:
        if detector is None:
            raise ValueError(f"cropping the driving frames of {frames.name} (or their eye/lip ratios) needs a face "
                             "detector")
        detections = []
        for c in frames.chunks():
            with timer.stage("detect"):
                detections += detector.detect(c)
        track = track_driving_frames(detections, crop.params, crop.tracking, on_missing=crop.on_missing)

    def inputs() -> Iterator[torch.Tensor]:
        start = 0
        for c in frames.chunks():
            with timer.device_stage("crop", engine.device):
                batch = frames_tensor(c).to(engine.device)
                if cropping:
                    batch = cut_crops(batch, track.select(slice(start, start + len(c))))
                start += len(c)
                batch = network_input(batch).to(engine.device)
            yield batch

    motion = engine.motion(inputs(), frames.fps, timer)
    if track is not None:
        motion.eye_ratio = fill_gaps(track.eye_ratio, track.found).float().to(engine.device)
        motion.lip_ratio = fill_gaps(track.lip_ratio, track.found).float().to(engine.device)
    return FaceDriving(motion, frames.is_image, options)
