"""The pack loads into a real ComfyUI server and describes every node completely in /object_info."""
from __future__ import annotations

import re

import pytest

NODES = {
    "LPK_LoadModels", "LPK_LoadFaceDetector", "LPK_CropFaces", "LPK_CropFaceBox", "LPK_CropDrivingFaces",
    "LPK_ExtractAppearance",
    "LPK_ExtractMotion", "LPK_LoadMotionTemplate", "LPK_SaveMotionTemplate", "LPK_Retarget", "LPK_Stitch", "LPK_Render",
    "LPK_PasteBack", "LPK_Animate", "LPK_RenderToFile", "LPK_AnimateSourceVideo", "LPK_LivePortrait",
    "LPK_ExpressionEditor", "LPK_ExpressionFromReference", "LPK_KeyframeTimeline", "LPK_SaveExpression",
    "LPK_LoadExpression", "LPK_SmoothMotion", "LPK_RetimeMotion", "LPK_TrimMotion", "LPK_LoopMotion",
    "LPK_ReverseMotion", "LPK_AnchorMotion", "LPK_BlendMotion", "LPK_CrossFadeMotion", "LPK_ScaleMotionRegions",
    "LPK_NeutralizeMotion",
}
OUR_TYPES = {"LPK_MODELS", "LPK_SOURCE", "LPK_MOTION", "LPK_KEYPOINTS", "LPK_CROP", "LPK_DETECTOR", "LPK_EXPRESSION"}
OTHER_PACKS_TYPES = {"SEGS", "BBOX"}  # accepted by Crop Face from Box: Impact Pack detections, other packs' boxes


@pytest.fixture(scope="module")
def ours(comfy_server) -> dict[str, dict]:
    return {name: info for name, info in comfy_server.object_info().items() if name.startswith("LPK_")}


def test_pack_imports_without_failure(comfy_server):
    log = comfy_server.log
    line = next((l for l in log.splitlines() if "custom_nodes/liveportrait-kit" in l and "seconds" in l), None)
    assert line is not None and "IMPORT FAILED" not in line, log[-3000:]
    assert not re.search(r"Cannot import .*liveportrait-kit|comfy_entrypoint in .*liveportrait-kit", log)


def test_every_node_is_listed(ours):
    assert set(ours) == NODES


def test_every_node_is_described(ours):
    for name, info in ours.items():
        assert info["category"] in ("LivePortrait", "LivePortrait/Editing", "LivePortrait/Motion"), name
        assert info["display_name"] and info["display_name"] != name, name
        assert len(info["description"]) > 40, name
        inputs = {**info["input"]["required"], **info["input"].get("optional", {})}
        assert inputs, name
        for key, (_, options) in inputs.items():
            assert options.get("tooltip"), f"{name}.{key} has no tooltip"
        assert len(info["output_tooltips"]) == len(info["output"]), name
        assert all(info["output_tooltips"]), f"{name} has an output without tooltip"


def test_custom_types_carry_the_pack_prefix(ours):
    used = {t for info in ours.values() for t in info["output"] if isinstance(t, str) and t.isupper()}
    used |= {spec[0] for info in ours.values() for group in ("required", "optional")
             for spec in info["input"].get(group, {}).values() if isinstance(spec[0], str)}
    core = {"IMAGE", "MASK", "FLOAT", "INT", "BOOLEAN", "STRING", "COMBO", "VIDEO", "AUDIO"}
    custom = {t for t in used if t not in core}
    assert custom == OUR_TYPES | OTHER_PACKS_TYPES


def test_option_inputs_offer_the_official_choices(ours):
    retarget = ours["LPK_Retarget"]["input"]["required"]
    assert retarget["animation_region"][1]["options"] == ["all", "exp", "pose", "lip", "eyes"]
    assert retarget["driving_option"][1]["options"] == ["expression-friendly", "pose-friendly"]
    assert ours["LPK_LoadModels"]["input"]["required"]["precision"][1]["options"] == ["auto", "fp32", "fp16", "bf16"]
    assert ours["LPK_LoadModels"]["input"]["required"]["variant"][1]["options"] == ["human", "animals"]
