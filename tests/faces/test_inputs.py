"""Awkward inputs: tiny, greyscale, RGBA, odd-sized, float and batched images."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from liveportrait_core.faces.crop import cut_crops, network_input, track_source_image
from liveportrait_core.faces.detector import FaceDetections, NoFaceError, choose_faces
from liveportrait_core.faces.images import as_uint8_images, frames_tensor
from tests.support.faces import face_models, mediapipe_detector, portrait  # noqa: F401


def test_image_normalisation():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    (out,) = as_uint8_images(grey)
    assert out.shape == (3, 4, 3) and (out[..., 2] == grey).all()
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., 3] = 7
    assert as_uint8_images(rgba)[0].shape == (2, 2, 3)
    batch = torch.rand(2, 5, 6, 3)  # ComfyUI IMAGE: float in [0, 1]
    converted = as_uint8_images(batch)
    assert len(converted) == 2 and converted[1].dtype == np.uint8
    assert converted[1][0, 0, 0] == round(float(batch[1, 0, 0, 0]) * 255)
    with pytest.raises(ValueError, match="image 0 is empty"):
        as_uint8_images(np.zeros((0, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="int16"):
        as_uint8_images(np.zeros((4, 4, 3), np.int16))
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        as_uint8_images([np.zeros((4, 4, 2), np.uint8)])


def test_frames_tensor_accepts_read_only_arrays():
    frozen = np.zeros((4, 5, 3), np.uint8)
    frozen.flags.writeable = False
    assert frames_tensor(frozen).shape == (1, 4, 5, 3)
    with pytest.raises(ValueError, match="uint8 RGB frames"):
        frames_tensor(np.zeros((4, 5, 3), np.float32))


def test_greyscale_rgba_and_odd_sized_portraits(mediapipe_detector):
    s42 = portrait("s42")
    grey = np.repeat(s42.mean(-1, keepdims=True).round().astype(np.uint8), 3, -1)
    rgba = np.concatenate((s42, np.full((*s42.shape[:2], 1), 255, np.uint8)), -1)
    odd = np.ascontiguousarray(s42[7:340, 3:514 - 3])  # 333 x 506, face partly cut off at the bottom
    for image in (grey, rgba, odd):
        track = track_source_image(mediapipe_detector.detect(image)[0])
        crop = cut_crops(as_uint8_images(image)[0], track)
        assert crop.shape == (1, 512, 512, 3) and network_input(crop).shape == (1, 3, 256, 256)


def test_tiny_and_empty_images_say_no_face(mediapipe_detector):
    for image in (np.zeros((1, 1, 3), np.uint8), np.full((16, 16, 3), 128, np.uint8)):
        (faces,) = mediapipe_detector.detect(image)
        with pytest.raises(NoFaceError, match="no face found in the tiny image"):
            choose_faces(faces, "largest", "the tiny image")


def test_face_index_out_of_range_is_explained(mediapipe_detector):
    (faces,) = mediapipe_detector.detect(portrait("s42"))
    with pytest.raises(NoFaceError, match="face index 2 requested but s42 has 1 face"):
        choose_faces(faces, 2, "s42")
    with pytest.raises(ValueError, match="'largest', 'all' or an index"):
        choose_faces(faces, "smallest")


def test_a_face_reported_twice_counts_once():
    boxes = torch.tensor([[100., 100., 300., 300.], [400., 100., 560., 260.], [110., 105., 295., 290.]])
    faces = FaceDetections(boxes, torch.tensor([0.9, 0.8, 0.7]), torch.zeros(3, 203, 2), torch.zeros(3, 203, 2))
    kept = faces.largest_first().without_duplicates()
    assert kept.boxes.tolist() == boxes[:2].tolist()  # the near copy of face 0 is gone, the other face stays
    assert len(faces.without_duplicates(iou=0.99)) == 3
