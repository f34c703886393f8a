"""Faces: detection, landmarks, cropping, driving auto-crop, eye/lip ratios and paste-back.

Typical use (one source image, batched torch tensors throughout)::

    with create_detector("mediapipe", models_dir) as detector:   # image: uint8 (H, W, 3) RGB
        track = track_source_image(detector.detect(image)[0])     # crop transforms of the largest face
    crops = cut_crops(image, track)                              # uint8 (1, 512, 512, 3)
    inputs = network_input(crops)                                # float (1, 3, 256, 256), with track.eye_ratio / lip_ratio
    ...render (N, 3, 512, 512)...
    mask = warp_mask(paste_mask(), track.crop_to_original, image.shape[:2])
    frames = paste_back(renders, track.crop_to_original, image, mask)   # uint8 (N, H, W, 3)

Videos: ``track_source_frames`` (source, smoothed per frame) and ``track_driving_frames`` (driving
auto-crop, clip average or smoothed) take the per-frame detections; ``cut_crops`` then cuts chunks.
"""
from .backends import create_detector
from .crop import CropTrack, cut_crops, network_input, track_source_frames, track_source_image
from .crop_geometry import DRIVING_CROP, SOURCE_CROP, CropParams, crop_matrix, crop_rect
from .detector import BACKENDS, FaceDetections, FaceDetector, NoFaceError, choose_faces
from .detector_pool import DetectorPool, default_workers
from .driving_crop import is_prepared_crop, track_driving_frames
from .landmark_layout import mediapipe_to_203
from .model_store import FaceModelsNotFoundError
from .pasteback import paste_back, paste_mask, warp_mask
from .ratios import eye_open_ratio, lip_open_ratio

__all__ = [
    "BACKENDS", "CropParams", "CropTrack", "DRIVING_CROP", "DetectorPool", "FaceDetections", "FaceDetector",
    "FaceModelsNotFoundError", "NoFaceError", "SOURCE_CROP", "choose_faces", "create_detector", "crop_matrix",
    "crop_rect", "cut_crops", "default_workers", "eye_open_ratio", "is_prepared_crop", "lip_open_ratio",
    "mediapipe_to_203", "network_input", "paste_back", "paste_mask", "track_driving_frames", "track_source_frames",
    "track_source_image", "warp_mask",
]
