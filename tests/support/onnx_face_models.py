"""Small stand-ins for the official face models, with their input / output names and shapes.

* ``det_10g.onnx`` (SCRFD): input ``input.1`` (1, 3, H, W), nine outputs ``448 471 494`` (scores (K, 1)),
  ``451 474 497`` (box distances (K, 4)), ``454 477 500`` (keypoints (K, 10)) at strides 8/16/32 with
  K = (H/s)·(W/s)·2. Here: the stride-32 score of a cell is its mean normalised pixel value (so a bright
  32x32 block is a "face"), strides 8/16 score -1; every box reaches one stride from its anchor.
* ``2d106det.onnx``: input ``data`` (N, 3, 192, 192) -> ``fc1`` (N, 212): a fixed face (``TEMPLATE_106``, in
  [-1, 1] crop units).
* ``landmark.onnx``: input ``input`` (1, 3, 224, 224) -> three outputs, the third (1, 406): a fixed face
  (``TEMPLATE_203``, in [0, 1] crop units).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
SCORE_NAMES = ("448", "471", "494")
BOX_NAMES = ("451", "474", "497")
KPS_NAMES = ("454", "477", "500")


def _ellipse(n: int, centre: tuple[float, float], radii: tuple[float, float]) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack((centre[0] + radii[0] * np.cos(t), centre[1] + radii[1] * np.sin(t)), -1)


def _face(n: int, centre: tuple[float, float], unit: float, eyes: dict, mouth: dict) -> np.ndarray:
    """``n`` points on a face-shaped ellipse with eye / mouth points placed at their indices."""
    pts = _ellipse(n, centre, (0.6 * unit, 0.8 * unit))
    for idx, (dx, dy) in {**eyes, **mouth}.items():
        pts[idx] = (centre[0] + dx * unit, centre[1] + dy * unit)
    return pts.astype(np.float32)


def _eye(indices: tuple[int, int, int, int], x: float, y: float = -0.2) -> dict:
    """Outer/inner corner and upper/lower lid of one eye (indices in corner, upper, corner, lower order)."""
    a, b, c, d = indices
    return {a: (x - 0.1, y), b: (x, y - 0.04), c: (x + 0.1, y), d: (x, y + 0.04)}


TEMPLATE_106 = _face(106, (0.0, 0.0), 1.0, {**_eye((33, 35, 39, 40), -0.3), **_eye((87, 89, 93, 94), 0.3)},
                     {52: (-0.2, 0.4), 61: (0.2, 0.4)})
TEMPLATE_203 = _face(203, (0.5, 0.5), 0.5, {**_eye((0, 6, 12, 18), -0.3), **_eye((24, 30, 36, 42), 0.3)},
                     {48: (-0.2, 0.4), 66: (0.2, 0.4), 90: (0.0, 0.37), 102: (0.0, 0.45)})


def _save(nodes, inputs, outputs, initializers, path: Path) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _const(name: str, value: np.ndarray):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def make_scrfd(path: Path) -> Path:
    nodes, outputs = [], {}
    inits = [_const("zeros4", np.zeros((1, 4))), _const("ones4", np.ones((1, 4))), _const("zeros10", np.zeros((1, 10))),
             _const("minus1", np.array(-1.0)), _const("zero", np.array(0.0)),
             numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "col")]
    for stride, score, box, kps in zip((8, 16, 32), SCORE_NAMES, BOX_NAMES, KPS_NAMES):
        s = str(stride)
        nodes += [
            helper.make_node("AveragePool", ["input.1"], [f"pool{s}"], kernel_shape=[stride, stride], strides=[stride, stride]),
            helper.make_node("ReduceMean", [f"pool{s}"], [f"mean{s}"], axes=[1], keepdims=1),
            helper.make_node("Transpose", [f"mean{s}"], [f"cells{s}"], perm=[0, 2, 3, 1]),
            helper.make_node("Reshape", [f"cells{s}", "col"], [f"cell{s}"]),
            helper.make_node("Concat", [f"cell{s}", f"cell{s}"], [f"pair{s}"], axis=1),  # two anchors per cell
            helper.make_node("Reshape", [f"pair{s}", "col"], [f"raw{s}"]),
        ]
        if stride == 32:
            nodes.append(helper.make_node("Identity", [f"raw{s}"], [score]))
        else:
            nodes += [helper.make_node("Mul", [f"raw{s}", "zero"], [f"z{s}"]),
                      helper.make_node("Add", [f"z{s}", "minus1"], [score])]
        nodes += [helper.make_node("Mul", [f"raw{s}", "zeros4"], [f"b{s}"]),
                  helper.make_node("Add", [f"b{s}", "ones4"], [box]),
                  helper.make_node("Mul", [f"raw{s}", "zeros10"], [kps])]
        outputs.update({score: 1, box: 4, kps: 10})
    order = SCORE_NAMES + BOX_NAMES + KPS_NAMES
    return _save(nodes, [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "h", "w"])],
                 [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["k", outputs[n]]) for n in order], inits, path)


def _constant_model(path: Path, input_name: str, input_shape: list, outputs: dict[str, np.ndarray]) -> Path:
    """Outputs ``value + 0·mean(input)`` (batch follows the input)."""
    nodes = [helper.make_node("ReduceMean", [input_name], ["m"], axes=[1, 2, 3], keepdims=0),
             helper.make_node("Unsqueeze", ["m", "axis1"], ["m1"]),
             helper.make_node("Mul", ["m1", "zero"], ["z"])]
    inits = [_const("zero", np.array(0.0)), numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1")]
    for name, value in outputs.items():
        inits.append(_const(f"{name}_value", value.reshape(1, -1)))
        nodes.append(helper.make_node("Add", ["z", f"{name}_value"], [name]))
    return _save(nodes, [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
                 [helper.make_tensor_value_info(n, TensorProto.FLOAT, [input_shape[0], v.size]) for n, v in outputs.items()],
                 inits, path)


def make_2d106(path: Path) -> Path:
    return _constant_model(path, "data", ["n", 3, 192, 192], {"fc1": TEMPLATE_106})


def make_landmark203(path: Path) -> Path:
    return _constant_model(path, "input", [1, 3, 224, 224], {"out_a": np.zeros(10), "out_b": np.zeros(20),
                                                             "out_pts": TEMPLATE_203})


def make_insightface_folder(folder: Path) -> Path:
    """The three files in the hub layout under ``folder``."""
    make_scrfd(folder / "insightface/models/buffalo_l/det_10g.onnx")
    make_2d106(folder / "insightface/models/buffalo_l/2d106det.onnx")
    make_landmark203(folder / "liveportrait/landmark.onnx")
    return folder
