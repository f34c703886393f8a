"""The pack's ComfyUI extension: registers its model folders and lists its nodes."""
from __future__ import annotations

from .anchor_motion import AnchorMotion
from .animate import Animate
from .animate_source_video import AnimateSourceVideo
from .blend_motion import BlendMotion
from .comfy import ComfyExtension, io
from .crop_driving_faces import CropDrivingFaces
from .crop_face_box import CropFaceBox
from .crop_faces import CropFaces
from .cross_fade_motion import CrossFadeMotion
from .expression_editor import ExpressionEditor
from .expression_reference import ExpressionFromReference
from .extract_appearance import ExtractAppearance
from .extract_motion import ExtractMotion
from .folders import register_folders
from .keyframe_timeline import KeyframeTimeline
from .load_detector import LoadFaceDetector
from .load_expression import LoadExpression
from .load_models import LoadModels
from .load_template import LoadMotionTemplate
from .loop_motion import LoopMotion
from .neutralize_motion import NeutralizeMotion
from .paste_back import PasteBack
from .render import Render
from .render_to_file import RenderToFile
from .retarget import Retarget
from .retime_motion import RetimeMotion
from .reverse_motion import ReverseMotion
from .save_expression import SaveExpression
from .save_template import SaveMotionTemplate
from .scale_motion_regions import ScaleMotionRegions
from .smooth_motion import SmoothMotion
from .stitch import Stitch
from .trim_motion import TrimMotion

NODES: list[type[io.ComfyNode]] = [
    LoadModels, LoadFaceDetector, CropFaces, CropFaceBox, CropDrivingFaces, ExtractAppearance, ExtractMotion,
    LoadMotionTemplate,
    SaveMotionTemplate, Retarget, Stitch, Render, PasteBack, Animate,
    RenderToFile, AnimateSourceVideo,
    ExpressionEditor, ExpressionFromReference, KeyframeTimeline, SaveExpression, LoadExpression,
    SmoothMotion, RetimeMotion, TrimMotion, LoopMotion, ReverseMotion, AnchorMotion, BlendMotion, CrossFadeMotion,
    ScaleMotionRegions, NeutralizeMotion,
]


class LivePortraitExtension(ComfyExtension):
    """Registers ``models/liveportrait`` and ``models/liveportrait_templates``, then offers the nodes."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        register_folders()
        return list(NODES)
