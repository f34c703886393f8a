"""Crop tracks of the faces to animate in a still image or in the frames of a source video.

A still image (one detection set) is cropped the official way (:func:`~.crop.track_source_image`);
video frames are cropped per frame from the landmarks and smoothed (:func:`~.crop.track_source_frames`),
each face followed through the frames by position (:mod:`.identities`, which also drops duplicate
detections of one face). Frames where a face is missing keep ``found = False`` (paste-back leaves
them as they are).
"""
from __future__ import annotations

from typing import Sequence, Union

from .crop import SOURCE_VIDEO_SIGMA, CropTrack, track_source_frames, track_source_image
from .crop_geometry import SOURCE_CROP, CropParams
from .detector import FaceDetections, NoFaceError
from .identities import face_detections, follow_faces

Faces = Union[str, int, Sequence[int]]  # "largest", "all", one face index or several (0 = largest)


def chosen_faces(faces: Faces, count: int, where: str) -> list[int]:
    """Face indices of a choice among ``count`` faces (negative indices count from the end)."""
    if faces == "all":
        return list(range(count))
    picks = [0] if faces == "largest" else [faces] if isinstance(faces, int) else list(faces)
    for k in picks:
        if isinstance(k, bool) or not isinstance(k, int):
            raise ValueError(f"faces must be 'largest', 'all' or face indices, got {faces!r}")
        if not -count <= k < count:
            raise NoFaceError(f"face {k} requested but {where} has {count} face(s) (0 is the largest)")
    return [k % count for k in picks]


def face_tracks(detections: Sequence[FaceDetections], faces: Faces = "largest", params: CropParams = SOURCE_CROP,
                sigma: float = SOURCE_VIDEO_SIGMA, where: str = "the source") -> list[CropTrack]:
    """One crop track per chosen face, each over all ``len(detections)`` frames.

    Raises:
        NoFaceError: no face anywhere, or a face index beyond the faces found (the message names ``where``).
    """
    assignment = follow_faces(detections)
    if len(detections) == 1 and assignment.shape[1]:
        every = track_source_image(detections[0], params, "all", where)
        return [every.select(assignment[0, [k]]) for k in chosen_faces(faces, assignment.shape[1], where)]
    if assignment.shape[1] == 0:
        raise NoFaceError(f"no face found in any of the {len(detections)} frame(s) of {where}")
    return [track_source_frames(face_detections(detections, assignment, k), params, sigma, on_missing="skip")
            for k in chosen_faces(faces, assignment.shape[1], where)]
