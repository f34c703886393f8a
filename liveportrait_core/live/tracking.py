"""The driving face's crop in a live stream: detected once, then followed, detected again only when it drifts.

Detecting every frame costs more than the motion extractor (docs/performance.md). A live crop instead keeps the
box of the last detection and lets the motion extractor watch it: its translation ``t`` and scale are measured
in the crop, so when the head moves in the picture they move too. When they leave the values of the frame that was
detected by more than ``drift`` (keypoint units: the crop spans -1..1), the face is detected again, on a
background thread, while the old box keeps serving the frames in between. Only the first frame waits for its
detection. Eye and lip retargeting need each frame's landmarks, so then every frame is detected (and waited for).

The crop of one detection is the official driving crop of a one-frame clip (``track_driving_frames``), so a live
frame is cut exactly as an offline driving frame with the same box.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from torch import Tensor

from ..faces import DRIVING_CROP, CropParams, CropTrack, FaceDetector, track_driving_frames

DEFAULT_DRIFT = 0.08  # keypoint units; the crop spans -1..1, so about 4 % of its side


class FaceFollower:
    """Where to cut the driving face of each live frame (module docstring).

    Args:
        detector: the face detector; it is only ever called from one worker thread.
        drift: movement of the face in the crop (``t`` in keypoint units, or relative scale) that triggers a new
            detection.
        every: also detect again every this many frames (0: only on drift).
        every_frame: detect every frame and wait for it (needed for per-frame eye / lip ratios).
        asynchronous: run re-detections on the worker while the old box serves; False waits for each (tests).
    """

    def __init__(self, detector: FaceDetector, params: CropParams = DRIVING_CROP, *, drift: float = DEFAULT_DRIFT,
                 every: int = 0, every_frame: bool = False, asynchronous: bool = True):
        if drift <= 0:
            raise ValueError(f"drift must be > 0, got {drift}")
        if every < 0:
            raise ValueError(f"every must be >= 0 frames, got {every}")
        self.detector, self.params = detector, params
        self.drift, self.every, self.every_frame, self.asynchronous = drift, every, every_frame, asynchronous
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-detect")
        self._pending: Future[CropTrack | None] | None = None
        self._track: CropTrack | None = None
        self._baseline: tuple[Tensor, Tensor] | None = None  # (t_xy, scale) seen in the crop just after a detection
        self._since_detection = 0
        self.detections = 0
        self.lost = False  # the last detection found no face

    def _detect(self, frame: np.ndarray) -> CropTrack | None:
        """One-frame driving crop of ``frame``, None when it has no face."""
        detections = self.detector.detect(frame[None])
        return track_driving_frames(detections, self.params) if len(detections[0]) else None

    def _accept(self, track: CropTrack | None) -> None:
        self.detections += 1
        self.lost = track is None
        if track is not None:
            self._track, self._baseline, self._since_detection = track, None, 0

    def _request(self, frame: np.ndarray) -> None:
        """Start a detection of ``frame`` on the worker unless one is running."""
        if self._pending is None:
            self._pending = self._worker.submit(self._detect, np.array(frame, copy=True))

    def _collect(self, wait: bool) -> None:
        if self._pending is not None and (wait or self._pending.done()):
            future, self._pending = self._pending, None
            self._accept(future.result())

    def track(self, frame: np.ndarray) -> CropTrack | None:
        """The one-frame crop to cut ``frame`` (uint8 (H, W, 3)) with, or None while no face is known.

        With ``every_frame`` the returned track holds this frame's own landmarks; otherwise the box comes from the
        latest finished detection.
        """
        if self.every_frame or self._track is None and self.detections == 0:
            self._request(frame)
            self._collect(wait=True)
        else:
            self._collect(wait=False)
            if self.lost or self._track is None or (self.every and self._since_detection >= self.every):
                self._request(frame)
                if not self.asynchronous:
                    self._collect(wait=True)
        self._since_detection += 1
        return None if self.lost else self._track

    def observe(self, t: Tensor, scale: Tensor, frame: np.ndarray) -> None:
        """The motion extractor's translation (1, 3) and scale (1, 1) of the face cut with the current box: a
        drift beyond ``drift`` since the detection starts a new one (of ``frame``)."""
        if self.every_frame:
            return
        now = (t[0, :2].detach().double().cpu(), scale[0, 0].detach().double().cpu())
        if self._baseline is None:
            self._baseline = now
            return
        moved = float((now[0] - self._baseline[0]).abs().max())
        grown = abs(float(now[1] / self._baseline[1]) - 1)
        if max(moved, grown) > self.drift:
            self._request(frame)
            if not self.asynchronous:
                self._collect(wait=True)

    def close(self) -> None:
        """Stop the worker (a detection still running is waited for, so the detector can be closed after)."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._pending = None

