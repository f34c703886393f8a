"""The pack's ComfyUI extension: registers its model folders and lists its nodes."""
from __future__ import annotations

from .animate import Animate
from .animate_source_video import AnimateSourceVideo
from .comfy import ComfyExtension, io
from .crop_driving_faces import CropDrivingFaces
from .crop_face_box import CropFaceBox
from .crop_faces import CropFaces
from .expression_editor import ExpressionEditor
from .expression_reference import ExpressionFromReference
from .extract_appearance import ExtractAppearance
from .extract_motion import ExtractMotion
from .folders import register_folders
from .keyframe_timeline import KeyframeTimeline
from .live import LivePortrait
from .load_detector import LoadFaceDetector
from .load_expression import LoadExpression
from .load_models import LoadModels
from .load_template import LoadMotionTemplate
from .motion_ops import (AnchorMotion, BlendMotion, CrossFadeMotion, LoopMotion, NeutralizeMotion, RetimeMotion, ReverseMotion,
                         ScaleMotionRegions, SmoothMotion, TrimMotion)
from .opencv_check import warn_about_opencv
from .paste_back import PasteBack
from .render import Render
from .render_to_file import RenderToFile
from .retarget import Retarget
from .save_expression import SaveExpression
from .save_template import SaveMotionTemplate
from .stitch import Stitch

NODES: list[type[io.ComfyNode]] = [
    LoadModels, LoadFaceDetector, CropFaces, CropFaceBox, CropDrivingFaces, ExtractAppearance, ExtractMotion,
    LoadMotionTemplate,
    SaveMotionTemplate, Retarget, Stitch, Render, PasteBack, Animate,
    RenderToFile, AnimateSourceVideo, LivePortrait,
    ExpressionEditor, ExpressionFromReference, KeyframeTimeline, SaveExpression, LoadExpression,
    SmoothMotion, RetimeMotion, TrimMotion, LoopMotion, ReverseMotion, AnchorMotion, BlendMotion, CrossFadeMotion,
    ScaleMotionRegions, NeutralizeMotion,
]


class LivePortraitExtension(ComfyExtension):
    """Registers ``models/liveportrait`` and ``models/liveportrait_templates``, checks the OpenCV install, then offers
    the nodes (ComfyUI 0.3.75 calls only ``get_node_list``, once, when it loads the pack)."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        register_folders()
        warn_about_opencv()
        return list(NODES)
