"""A live session: one portrait prepared once, then animated by one driving frame at a time.

The source is prepared once (:func:`prepare_source`): its crop, feature volume, own motion, paste-back mask and the
picture to paste into, all on the engine's device. Each driving frame then goes through the same steps as an
offline driving frame, at batch 1: its crop (followed by :class:`~.tracking.FaceFollower`, detected only when it
drifts), the motion extractor, causal smoothing (:class:`~liveportrait_core.motion.smoothing.MotionFilter`), the
relative motion against a reference frame (the first one; :meth:`LiveSession.recentre` takes the next frame
instead), expression sliders on top, stitching and retargeting, the warping module and generator, and paste-back.
Because the steps are the offline ones, the first live frame is the offline render of a one-frame clip.

A frame without a face shows the last good frame (``on_missing="hold"``) or the source at rest (``"source"``);
:attr:`LiveSession.missing` counts them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ..acceleration.graphs import one_frame_renderer
from ..editing.apply_sliders import slider_motion
from ..editing.sliders import ExpressionSliders
from ..faces import SOURCE_CROP, CropParams, CropTrack, FaceDetector, cut_crops, is_prepared_crop, network_input
from ..faces import paste_back, paste_mask, track_source_image, warp_mask
from ..faces.images import frames_tensor, uint8_frames
from ..faces.pasteback import DEFAULT_FEATHER
from ..motion.anchors import with_anchor
from ..motion.animals import animal_keypoints
from ..motion.driving import DrivingOptions
from ..motion.retargeting import animate_keypoints
from ..motion.sequence import MotionSequence
from ..motion.smoothing import SMOOTH_METHODS, MotionFilter
from ..pipeline.engine import LivePortraitEngine, SourceState
from ..pipeline.render import warp_decode
from ..pipeline.source_frames import SourceFrames
from ..pipeline.source_motion import face_inputs, source_motions
from ..profiling import StageTimer
from .tracking import DEFAULT_DRIFT, FaceFollower

SMOOTHING = ("none", *SMOOTH_METHODS)
ON_MISSING = ("hold", "source")
CROP_MODES = ("auto", "on", "off")
STAGES = ("detect", "crop", "motion", "keypoints", "render", "paste-back", "copy")


@dataclass(frozen=True)
class LiveOptions:
    """How driving frames animate the source, live.

    driving: relative motion, stitching, retargeting, multiplier, region (the offline options).
    smoothing: "none", "kalman" (the official filter, forward only) or "one_euro"; ``strength`` and ``fps`` tune
        One-Euro (time constant ``strength · 0.2 s`` at the input's frame rate), ``observation_variance`` Kalman.
    crop: driving frames are cut around the face: "auto" unless they are square and at most 512 px (face
        crops already), "on", "off".
    drift, redetect_every: when the followed face is detected again (:class:`~.tracking.FaceFollower`).
    cuda_graphs: on CUDA, render through a CUDA graph captured on the first frame (:mod:`~liveportrait_core.acceleration.graphs`).
    paste_back: paste the face into the source picture (else the 512x512 render is the output).
    on_missing: a frame without a face shows the last good frame ("hold") or the source at rest ("source").
    """

    driving: DrivingOptions = field(default_factory=DrivingOptions)
    smoothing: str = "none"
    strength: float = 0.5
    observation_variance: float = 3e-6
    fps: float = 25.0
    crop: str = "auto"
    drift: float = DEFAULT_DRIFT
    redetect_every: int = 0
    cuda_graphs: bool = True
    paste_back: bool = True
    feather: float = DEFAULT_FEATHER
    on_missing: str = "hold"

    def __post_init__(self) -> None:
        for name, allowed in (("smoothing", SMOOTHING), ("crop", CROP_MODES), ("on_missing", ON_MISSING)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"LiveOptions.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not self.fps > 0:
            raise ValueError(f"LiveOptions.fps must be > 0, got {self.fps}")

    def motion_filter(self) -> MotionFilter | None:
        if self.smoothing == "none":
            return None
        return MotionFilter(self.smoothing, self.fps, strength=self.strength,
                            observation_variance=self.observation_variance)

    @property
    def needs_landmarks(self) -> bool:
        """Eye / lip retargeting reads each driving frame's landmarks, so every frame is detected."""
        return self.driving.eye_retargeting or self.driving.lip_retargeting


@dataclass
class PreparedSource:
    """What every live frame reuses of the source portrait, on the engine's device.

    state: the feature volume (1, 32, 16, 64, 64) and the face's own motion (one frame, with eye / lip ratios).
    track: the face's crop in the picture; None when the picture is the face crop itself (nothing to paste into).
    picture: uint8 (1, H, W, 3), what the face is pasted into.
    mask: float (1, H, W) paste-back mask, None without a track.
    """

    state: SourceState
    track: CropTrack | None
    picture: Tensor
    mask: Tensor | None


@torch.inference_mode()
def prepare_source(engine: LivePortraitEngine, picture: np.ndarray, detector: FaceDetector | None, *,
                   track: CropTrack | None = None, params: CropParams = SOURCE_CROP,
                   feather: float = DEFAULT_FEATHER) -> PreparedSource:
    """Crop (official source crop of the largest face, or ``track``: a crop made elsewhere, e.g. from a face
    box), feature volume, motion and paste-back mask of a uint8 (H, W, 3) portrait, as the offline pipeline computes
    them. Without either a detector or a track the picture must be a face crop already (square, at most 512 px)."""
    picture = np.ascontiguousarray(picture)
    if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
        raise ValueError(f"the source portrait must be uint8 (H, W, 3) RGB, got {picture.dtype} {picture.shape}")
    height, width = picture.shape[:2]
    if track is None and detector is not None:
        track = track_source_image(detector.detect(picture[None])[0], params, where="the source portrait")
    elif track is None and not is_prepared_crop(width, height):
        raise ValueError(f"the source portrait is {width}x{height}, not a face crop (square, at most 512 px): give a "
                         "face detector to find and crop its face")
    (motion,) = source_motions(engine, SourceFrames.in_memory(picture[None], "the source portrait"), [track])
    feature = engine.appearance(face_inputs(picture[None], track))
    mask = None if track is None else warp_mask(paste_mask(track.dsize, feather, engine.device),
                                                track.crop_to_original, (height, width))
    return PreparedSource(SourceState(feature, motion), track, frames_tensor(picture[None]).to(engine.device), mask)


@dataclass
class LiveFrame:
    """One output frame: uint8 (H, W, 3) on the host; ``face`` False when the driving frame had no face (the frame
    shown is then the held or the source one); ``seconds`` per stage of :data:`STAGES` that ran (device stages by
    CUDA events on a GPU, so each is its own time without waiting for the device in between)."""

    image: np.ndarray
    face: bool
    seconds: dict[str, float]


class LiveSession:
    """A prepared source animated by driving frames as they come (module docstring).

    Args:
        detector: finds the driving face; may be None when the driving frames are face crops and no eye / lip
            retargeting is asked for.
        sliders: expression sliders applied on top of the driving motion (pose, expression, ``mov_z``).
        asynchronous_detection: re-detect on a worker thread while the old crop serves (False: wait; for tests).
    """

    def __init__(self, engine: LivePortraitEngine, source: PreparedSource, detector: FaceDetector | None = None,
                 options: LiveOptions = LiveOptions(), *, sliders: ExpressionSliders | None = None,
                 asynchronous_detection: bool = True):
        if options.paste_back and source.track is None:
            options = replace(options, paste_back=False)
        self.engine, self.source, self.options = engine, source, options
        self.follower = None if detector is None else FaceFollower(
            detector, drift=options.drift, every=options.redetect_every, every_frame=options.needs_landmarks,
            asynchronous=asynchronous_detection)
        self._filter = options.motion_filter()
        self._graph: Callable[[Tensor], Tensor] | None = None
        self._graph_tried = not (options.cuda_graphs and engine.device.type == "cuda")
        self._reference: MotionSequence | None = None
        self._last: np.ndarray | None = None
        self._rest: np.ndarray | None = None
        self._sliders: ExpressionSliders | None = None
        self.sliders = sliders
        self.frames = 0
        self.missing = 0

    @property
    def sliders(self) -> ExpressionSliders | None:
        return self._sliders

    @sliders.setter
    def sliders(self, sliders: ExpressionSliders | None) -> None:
        """Sliders take effect from the next frame; per-frame values and ratio targets have no meaning live."""
        if sliders is not None:
            if sliders.frames() is not None:
                raise ValueError("live sliders take one value each, not one per frame")
            if sliders.target_eye_ratio is not None or sliders.target_lip_ratio is not None:
                raise ValueError("the eye / lip ratio targets edit a still picture; live, use eye_retargeting / "
                                 "lip_retargeting to follow the driving face's eyes and lips")
            sliders = sliders if sliders.changed() else None
        self._sliders = sliders

    def recentre(self) -> None:
        """Measure the motion from the next frame on (its pose and expression become the source's)."""
        self._reference = None
        if self._filter is not None:
            self._filter = self.options.motion_filter()

    def _cropping(self, width: int, height: int) -> bool:
        mode = self.options.crop
        return mode == "on" or (mode == "auto" and not is_prepared_crop(width, height))

    @torch.inference_mode()
    def process(self, frame: np.ndarray) -> LiveFrame:
        """Animate the source with one uint8 (H, W, 3) RGB driving frame."""
        frame = np.ascontiguousarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a driving frame must be uint8 (H, W, 3) RGB, got {frame.dtype} {frame.shape}")
        clock = StageTimer()
        self.frames += 1
        cropping = self._cropping(frame.shape[1], frame.shape[0])
        track = None
        if cropping or self.options.needs_landmarks:
            if self.follower is None:
                raise ValueError(f"driving frames of {frame.shape[1]}x{frame.shape[0]} are not face crops (square, at "
                                 "most 512 px), or eye / lip retargeting is on: the live session needs a face detector")
            with clock.stage("detect"):
                track = self.follower.track(frame)
            if track is None:
                return self._missing(clock)
        device = self.engine.device
        with clock.device_stage("crop", device):
            pixels = frames_tensor(frame[None]).to(device)
            inputs = network_input(cut_crops(pixels, track) if cropping else pixels)
        with clock.device_stage("motion", device):
            motion = self.engine.keypoint_info(inputs).to_motion(self.options.fps)
            if self.options.needs_landmarks:
                motion.eye_ratio, motion.lip_ratio = (r.float().to(device) for r in (track.eye_ratio, track.lip_ratio))
        if cropping:
            self.follower.observe(motion.t, motion.scale, frame)
        with clock.device_stage("keypoints", device):
            keypoints = self._keypoints(motion)
        image = self._render(keypoints, clock)
        self._last = image
        return LiveFrame(image, True, clock.seconds())

    def _keypoints(self, motion: MotionSequence) -> Tensor:
        """(1, 21, 3) driving keypoints of one driving frame's motion (the offline computation with the reference
        frame as anchor)."""
        if self._filter is not None:
            motion = self._filter(motion)
        if self._reference is None:
            self._reference = motion
        if self._sliders is not None:
            motion = slider_motion(motion, self._sliders)
        # the reference frame itself is driven alone, as the first frame of an offline clip is (bit for bit)
        drive = motion if motion is self._reference else with_anchor(motion, self._reference)
        module, source = self.engine.networks.stitching, self.source.state.motion
        if self.engine.networks.variant == "animals":
            return animal_keypoints(module, source, drive, self.options.driving)[-1:]
        return animate_keypoints(module, source, drive, self.options.driving)[-1:]

    def _render(self, keypoints: Tensor, clock: StageTimer) -> np.ndarray:
        """Warp, decode and paste back one frame; uint8 (H, W, 3) on the host."""
        device = self.engine.device
        with clock.device_stage("render", device):
            render = self._render_one(keypoints)
        with clock.device_stage("paste-back", device):
            if self.options.paste_back:
                out = paste_back(render, self.source.track.crop_to_original, self.source.picture, self.source.mask)
            else:
                out = uint8_frames(render)
        with clock.stage("copy"):
            return out[0].cpu().numpy()

    def _render_one(self, keypoints: Tensor) -> Tensor:
        """(1, 3, 512, 512) render: replayed from the CUDA graph when there is one (captured on first use), else
        through the engine, which also renders again in float32 what overflowed in low precision."""
        state = self.source.state
        if not self._graph_tried:
            self._graph_tried = True
            engine = self.engine
            self._graph = one_frame_renderer(partial(warp_decode, engine.warping, engine.generator), state.feature,
                                             state.x_s)
        if self._graph is not None:
            render = self._graph(keypoints).float()
            if bool(torch.isfinite(render).all()):
                return render
        (render,) = self.engine.render(state, keypoints, chunk_size=1)
        return render

    def _missing(self, clock: StageTimer) -> LiveFrame:
        self.missing += 1
        if self.options.on_missing == "hold" and self._last is not None:
            return LiveFrame(self._last, False, clock.seconds())
        if self._rest is None:
            self._rest = self._render(self.source.state.x_s, clock)
        return LiveFrame(self._rest, False, clock.seconds())

    def close(self) -> None:
        """Stop the detection worker and drop the source's tensors (the engine stays loaded)."""
        if self.follower is not None:
            self.follower.close()
        self.source = self._reference = self._last = self._rest = self._graph = None
        if self.engine.device.type == "cuda":
            torch.cuda.empty_cache()

    def __enter__(self) -> "LiveSession":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
