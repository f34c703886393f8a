"""The pack's ComfyUI extension: registers its model folders and lists its nodes."""
from __future__ import annotations

from .animate import Animate
from .comfy import ComfyExtension, io
from .crop_driving_faces import CropDrivingFaces
from .crop_faces import CropFaces
from .extract_appearance import ExtractAppearance
from .extract_motion import ExtractMotion
from .folders import register_folders
from .load_detector import LoadFaceDetector
from .load_models import LoadModels
from .load_template import LoadMotionTemplate
from .paste_back import PasteBack
from .render import Render
from .retarget import Retarget
from .save_template import SaveMotionTemplate
from .stitch import Stitch

NODES: list[type[io.ComfyNode]] = [
    LoadModels, LoadFaceDetector, CropFaces, CropDrivingFaces, ExtractAppearance, ExtractMotion, LoadMotionTemplate,
    SaveMotionTemplate, Retarget, Stitch, Render, PasteBack, Animate,
]


class LivePortraitExtension(ComfyExtension):
    """Registers ``models/liveportrait`` and ``models/liveportrait_templates``, then offers the nodes."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        register_folders()
        return list(NODES)
