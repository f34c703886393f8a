"""The insightface backend end to end on small generated ONNX models with the official names and shapes
(``tests/support/onnx_face_models.py``), provider selection, downloads and the offline errors of both backends."""
from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import liveportrait_core.faces.model_store as model_store
from liveportrait_core.faces import FaceModelsNotFoundError, create_detector, track_source_image
from liveportrait_core.faces.crop_geometry import LANDMARK_RUNNER_CROP, crop_matrix, invert_affine, transform_points
from liveportrait_core.faces.insightface_detector import InsightFaceDetector, decode_scrfd, nms
from liveportrait_core.faces.mediapipe_detector import FACE_LANDMARKER
from liveportrait_core.faces.onnx_session import CPU, CUDA, OnnxModel, choose_providers
from tests.support.faces import face_models  # noqa: F401
from tests.support.onnx_face_models import TEMPLATE_106, TEMPLATE_203, make_insightface_folder

HUB_PATHS = ("insightface/models/buffalo_l/det_10g.onnx", "insightface/models/buffalo_l/2d106det.onnx",
             "liveportrait/landmark.onnx")


@pytest.fixture(scope="module")
def insightface_models(tmp_path_factory):
    return make_insightface_folder(tmp_path_factory.mktemp("insightface"))


def frame_with_block(value: int = 255) -> np.ndarray:
    """1024x768 black frame with a 64x64 block: after the letterbox (x0.5) exactly one stride-32 cell."""
    image = np.zeros((768, 1024, 3), np.uint8)
    image[384:448, 512:576] = value
    return image


def test_pipeline_end_to_end(insightface_models):
    detector = InsightFaceDetector(insightface_models, download=False)
    (faces,) = detector.detect(frame_with_block())
    assert len(faces) == 1
    # anchor (256, 192) of the 512 canvas ± one stride (32), mapped back through the x0.5 letterbox
    assert faces.boxes[0].tolist() == pytest.approx([448, 320, 576, 448])
    assert float(faces.scores[0]) == pytest.approx(127.5 / 128, abs=1e-4)
    # 2d106: 192 crop about the box centre, side 1.5 x 128 -> scale 1, points (p + 1)·96 mapped back
    expected_106 = torch.from_numpy(TEMPLATE_106).double() * 96 + torch.tensor([512.0, 384.0], dtype=torch.float64)
    assert torch.allclose(faces.crop_points[0].double(), expected_106, atol=1e-3)
    # 203: the landmark runner's 224 crop of the 106 points, points · 224 mapped back
    m = crop_matrix(expected_106[None], LANDMARK_RUNNER_CROP)
    expected_203 = transform_points(torch.from_numpy(TEMPLATE_203).double()[None] * 224, invert_affine(m))
    assert torch.allclose(faces.landmarks.double(), expected_203, atol=1e-3)
    # the official source-image crop uses the 106 points
    assert torch.allclose(track_source_image(faces).original_to_crop, crop_matrix(faces.crop_points), atol=1e-9)


def test_input_normalisation_decides_the_threshold(insightface_models):
    """(x − 127.5) / 128 against the official threshold 0.1: grey 140 -> 0.098 (no face), 150 -> 0.18."""
    detector = InsightFaceDetector(insightface_models, download=False)
    assert [len(d) for d in detector.detect([frame_with_block(140), frame_with_block(150)])] == [0, 1]
    assert len(InsightFaceDetector(insightface_models, download=False, threshold=0.05).detect(frame_with_block(140))[0]) == 1


def test_several_faces_largest_first_and_odd_inputs(insightface_models):
    detector = create_detector("insightface", insightface_models, download=False)
    image = np.zeros((512, 512), np.uint8)  # greyscale
    image[64:96, 64:96] = 255
    image[256:288, 320:352] = 200
    (faces,) = detector.detect(image)
    assert faces.boxes.tolist() == [[32, 32, 96, 96], [288, 224, 352, 288]]  # equal sizes: by score
    assert faces.landmarks.shape == (2, 203, 2) and faces.crop_points.shape == (2, 106, 2)
    tiny = detector.detect(np.zeros((5, 7, 4), np.uint8))[0]  # RGBA, smaller than a stride
    assert len(tiny) == 0 and tiny.crop_points.shape[1:] == (106, 2)


def test_decode_and_nms_by_hand():
    h = w = 64  # strides 8/16/32 -> 128, 32, 8 anchors
    scores = [np.full((n, 1), -1.0, np.float32) for n in (128, 32, 8)]
    scores[2][3, 0] = 0.9  # cell (x=1, y=0) of stride 32, second anchor
    dists = [np.ones((n, 4), np.float32) for n in (128, 32, 8)]
    kps = [np.zeros((n, 10), np.float32) for n in (128, 32, 8)]
    s, boxes = decode_scrfd(scores + dists + kps, h, w, 0.1)
    assert s.tolist() == pytest.approx([0.9]) and boxes.tolist() == [[0.0, -32.0, 64.0, 32.0]]
    overlapping = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30]], np.float64)
    assert nms(overlapping, np.array([0.5, 0.9, 0.7]), 0.4).tolist() == [1, 2]


def test_provider_selection(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    assert choose_providers("auto") == [CUDA, CPU] == choose_providers("cuda")
    assert choose_providers("cpu") == [CPU]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CPU])
    assert choose_providers("auto") == [CPU]
    with pytest.raises(ValueError, match="onnxruntime-gpu"):
        choose_providers("cuda")


def test_sessions_receive_the_chosen_providers(monkeypatch, insightface_models):
    import onnxruntime

    seen = []
    real = onnxruntime.InferenceSession

    def recording(path, providers=None, **kwargs):
        seen.append(list(providers))
        return real(path, providers=[CPU], **kwargs)

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(onnxruntime, "InferenceSession", recording)
    InsightFaceDetector(insightface_models, download=False)
    assert seen == [[CUDA, CPU]] * 3


def test_unreadable_model_is_named(tmp_path):
    bad = tmp_path / "det_10g.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="cannot load ONNX model .*det_10g.onnx"):
        OnnxModel(bad)


def test_offline_error_names_folder_and_files(tmp_path, monkeypatch):
    with pytest.raises(FaceModelsNotFoundError) as err:
        InsightFaceDetector(tmp_path / "models", download=False)
    message = str(err.value)
    assert str(tmp_path / "models") in message and "automatic download is off" in message
    assert all(path in message for path in HUB_PATHS) and "huggingface-cli download KwaiVGI/LivePortrait" in message
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FaceModelsNotFoundError, match="HF_HUB_OFFLINE"):
        create_detector("insightface", tmp_path / "models")
    with pytest.raises(FaceModelsNotFoundError, match="mediapipe/face_landmarker.task.*\n.*\n.*storage.googleapis.com"):
        create_detector("mediapipe", tmp_path / "models")


@pytest.mark.parametrize("buffalo", ["models/buffalo_l", "buffalo_l"])
def test_buffalo_l_found_where_other_face_packs_keep_it(tmp_path, insightface_models, buffalo):
    """ComfyUI's models/insightface/ holds buffalo_l as the insightface library lays out its root (models/buffalo_l/)
    or as face packs tell users to unpack it (buffalo_l/); landmark.onnx stays flat in models/liveportrait/
    (ComfyUI-LivePortraitKJ). Nothing is downloaded: the second folder is searched, never written."""
    liveportrait, insightface = tmp_path / "liveportrait", tmp_path / "insightface"
    liveportrait.mkdir()
    shutil.copy(insightface_models / HUB_PATHS[2], liveportrait / "landmark.onnx")
    for hub_path in HUB_PATHS[:2]:
        target = insightface / buffalo / Path(hub_path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(insightface_models / hub_path, target)
    detector = create_detector("insightface", [liveportrait, insightface], download=False)
    assert len(detector.detect(frame_with_block())[0]) == 1
    with pytest.raises(FaceModelsNotFoundError) as err:  # without the insightface folder: named as searched or not
        create_detector("insightface", [liveportrait, tmp_path / "elsewhere"], download=False)
    message = str(err.value)
    assert f"not found in {liveportrait}" in message and f"Also searched: {tmp_path / 'elsewhere'}." in message
    assert f"{liveportrait / HUB_PATHS[2]}  (present)" in message


def test_hub_download_into_the_chosen_folder(tmp_path, monkeypatch, insightface_models):
    fetched = []

    def fake_download(repo_id, filename, local_dir):
        fetched.append((repo_id, filename))
        target = local_dir / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(insightface_models / filename, target)
        return str(target)

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(model_store, "hf_hub_download", fake_download)
    folder = tmp_path / "weights"
    (folder / "liveportrait").mkdir(parents=True)
    shutil.copy(insightface_models / HUB_PATHS[2], folder / "landmark.onnx")  # flat placement counts too
    detector = InsightFaceDetector(folder)
    assert fetched == [("KwaiVGI/LivePortrait", HUB_PATHS[0]), ("KwaiVGI/LivePortrait", HUB_PATHS[1])]
    assert len(detector.detect(frame_with_block())[0]) == 1


def test_mediapipe_model_download_checks_the_file(tmp_path, monkeypatch, face_models):
    payload = FACE_LANDMARKER.locate(face_models).read_bytes()
    assert hashlib.sha256(payload).hexdigest() == FACE_LANDMARKER.sha256
    urls = []

    def serve(data: bytes):
        def urlopen(url, timeout):
            urls.append(url)
            return io.BytesIO(data)
        return urlopen

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(model_store.urllib.request, "urlopen", serve(payload[:1000]))
    with pytest.raises(FaceModelsNotFoundError, match="sha256"):
        create_detector("mediapipe", tmp_path)
    assert not (tmp_path / FACE_LANDMARKER.path).exists()
    monkeypatch.setattr(model_store.urllib.request, "urlopen", serve(payload))
    with create_detector("mediapipe", tmp_path) as detector:
        assert detector.detect(np.zeros((64, 64, 3), np.uint8))[0].boxes.shape == (0, 4)
    assert urls == [FACE_LANDMARKER.url] * 2 and (tmp_path / FACE_LANDMARKER.path).is_file()
