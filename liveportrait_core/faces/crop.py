"""Source crops: where each face (or each video frame's face) is cut out, and cutting it.

A :class:`CropTrack` holds the crop transforms of B faces or frames (small tensors, no pixels), so a
long video is tracked once and then cut chunk by chunk with :func:`cut_crops`. The official source
image crop (``Cropper.crop_source_image``) is :func:`track_source_image`; source videos
(:func:`track_source_frames`) are cropped every frame from the 203 landmarks, as the official
``crop_source_video``, with the crop square additionally smoothed over time so it does not jitter.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, Sequence

import numpy as np
import torch
from torch import Tensor

from .crop_geometry import SOURCE_CROP, CropParams, CropRect, crop_rect, invert_affine, rect_to_crop_matrix, transform_points
from .crop_smoothing import fill_gaps, gaussian_smooth
from .detector import FaceChoice, FaceDetections, NoFaceError, choose_faces
from .images import frames_tensor
from .input_tensors import INPUT_SIZE, resize_to_input, to_tensor
from .ratios import eye_open_ratio, lip_open_ratio
from .warp import downscale2, warp_affine_uint8

MissingFace = Literal["fail", "skip"]
MISSING_FACE = ("fail", "skip")
SOURCE_VIDEO_SIGMA = 2.0  # frames; default temporal smoothing of source-video crops


@dataclass
class CropTrack:
    """Crop transforms of B faces or frames.

    original_to_crop: (B, 3, 3) float64 ``M_o2c`` (crop_to_original is its inverse).
    landmarks: (B, 203, 2) float32 in original pixels (NaN where no face was found).
    boxes: (B, 4) detector boxes, scores: (B,) detector scores (NaN where none).
    found: (B,) bool; False marks a frame without a face (kept as is by paste-back).
    dsize: side of the crops.
    """

    original_to_crop: Tensor
    landmarks: Tensor
    boxes: Tensor
    scores: Tensor
    found: Tensor
    dsize: int

    def __len__(self) -> int:
        return int(self.original_to_crop.shape[0])

    @property
    def crop_to_original(self) -> Tensor:
        """(B, 3, 3) float64 ``M_c2o``."""
        return invert_affine(self.original_to_crop)

    @property
    def landmarks_crop(self) -> Tensor:
        """(B, 203, 2) landmarks in crop pixels."""
        return transform_points(self.landmarks.double(), self.original_to_crop).float()

    @property
    def eye_ratio(self) -> Tensor:
        """(B, 2) eye-open ratios (NaN where no face was found)."""
        return eye_open_ratio(self.landmarks)

    @property
    def lip_ratio(self) -> Tensor:
        """(B, 1) lip-open ratio (NaN where no face was found)."""
        return lip_open_ratio(self.landmarks)

    def select(self, index: slice | Tensor | list[int]) -> "CropTrack":
        return replace(self, original_to_crop=self.original_to_crop[index], landmarks=self.landmarks[index],
                       boxes=self.boxes[index], scores=self.scores[index], found=self.found[index])


def track_source_image(detections: FaceDetections, params: CropParams = SOURCE_CROP,
                       face: FaceChoice = "largest", where: str = "the source image") -> CropTrack:
    """Crop transforms of the chosen face(s) of one image (official ``crop_image`` on the detector's
    crop points: insightface's 106, or the 203 landmarks)."""
    faces = choose_faces(detections, face, where)
    rect = crop_rect(faces.crop_points, params.scale, params.vx_ratio, params.vy_ratio)
    return CropTrack(rect_to_crop_matrix(rect, params.dsize, params.rotate), faces.landmarks, faces.boxes,
                     faces.scores, torch.ones(len(faces), dtype=torch.bool), params.dsize)


def pick_per_frame(detections: Sequence[FaceDetections], face: FaceChoice = "largest",
                   on_missing: MissingFace = "fail") -> tuple[FaceDetections, Tensor]:
    """One face per frame: stacked detections (NaN rows where none) and the (N,) found mask.

    Raises:
        NoFaceError: a frame has no face and ``on_missing`` is "fail" (the message names the frame),
            or no frame has one.
    """
    if on_missing not in MISSING_FACE:
        raise ValueError(f"on_missing must be one of {MISSING_FACE}, got {on_missing!r}")
    if face == "all":
        raise ValueError("videos are cropped around one face per frame; choose 'largest' or an index")
    picked, found = [], []
    for i, det in enumerate(detections):
        try:
            picked.append(choose_faces(det, face, f"frame {i}"))
            found.append(True)
        except NoFaceError as err:
            if on_missing == "fail":
                raise NoFaceError(f"{err}; pass on_missing='skip' (CLI: --on-missing-face skip) to keep such frames "
                                  "as they are") from None
            found.append(False)
    if not picked:
        raise NoFaceError(f"no face found in any of the {len(detections)} frame(s)")
    nan = picked[0].select([0])
    nan = FaceDetections(*(torch.full_like(t, float("nan")) for t in (nan.boxes, nan.scores, nan.landmarks, nan.crop_points)))
    rows = iter(picked)
    stacked = [next(rows) if ok else nan for ok in found]
    return (FaceDetections(*(torch.cat([getattr(d, k) for d in stacked]) for k in ("boxes", "scores", "landmarks", "crop_points"))),
            torch.tensor(found))


def track_source_frames(detections: Sequence[FaceDetections], params: CropParams = SOURCE_CROP,
                        sigma: float = SOURCE_VIDEO_SIGMA, face: FaceChoice = "largest",
                        on_missing: MissingFace = "fail") -> CropTrack:
    """Crop transforms of a source video, one per frame, from the 203 landmarks (official
    ``crop_source_video``), with centre, log side and angle Gaussian-smoothed over ``sigma`` frames.
    Frames without a face get the interpolated crop of their neighbours and ``found = False``."""
    faces, found = pick_per_frame(detections, face, on_missing)
    rect = crop_rect(faces.landmarks[found], params.scale, params.vx_ratio, params.vy_ratio)
    angle = _unwrap(rect.angle)
    series = torch.cat((rect.center, rect.size.log()[:, None], angle[:, None]), dim=1)
    full = torch.full((len(found), 4), float("nan"), dtype=torch.float64)
    full[found] = series
    smooth = gaussian_smooth(fill_gaps(full, found), sigma)
    smoothed = CropRect(center=smooth[:, :2], size=smooth[:, 2].exp(), angle=smooth[:, 3])
    return CropTrack(rect_to_crop_matrix(smoothed, params.dsize, params.rotate), faces.landmarks, faces.boxes,
                     faces.scores, found, params.dsize)


def cut_crops(images: np.ndarray | Tensor, track: CropTrack) -> Tensor:
    """uint8 (B or 1, H, W, 3) frames (numpy or torch) -> uint8 (B, d, d, 3) crops (cv2 ``warpAffine``
    INTER_LINEAR conventions), on the frames' device."""
    chw = frames_tensor(images).permute(0, 3, 1, 2)
    if chw.shape[0] == 1 and len(track) > 1:
        chw = chw.expand(len(track), -1, -1, -1)
    return warp_affine_uint8(chw, track.original_to_crop, (track.dsize, track.dsize)).permute(0, 2, 3, 1)


def network_input(crops: Tensor) -> Tensor:
    """uint8 (B, d, d, 3) crops -> float32 (B, 3, 256, 256) in [0, 1].

    A 512 crop is halved exactly as cv2's INTER_AREA (official source path) and INTER_LINEAR
    (official driving path) both do; other sizes use antialiased bilinear resampling.
    """
    if crops.shape[1:3] == (2 * INPUT_SIZE, 2 * INPUT_SIZE):  # contiguous NCHW, so every caller gets the same kernels
        return (downscale2(crops.permute(0, 3, 1, 2)).float() / 255).contiguous()
    return resize_to_input(to_tensor(crops, crops.device))


def _unwrap(angle: Tensor) -> Tensor:
    """Angles (N,) in radians without 2π jumps between consecutive frames."""
    step = torch.diff(angle, prepend=angle[:1])
    return angle + torch.cumsum(-2 * torch.pi * torch.round(step / (2 * torch.pi)), dim=0)
