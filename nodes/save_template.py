"""Node: save driving motion as a template into the templates folder."""
from __future__ import annotations

from pathlib import Path

from ..liveportrait_core.motion.templates import save_template
from .choices import check_choices
from .comfy import folder_paths, io, ui
from .folders import TEMPLATES
from .payloads import DrivingMotion
from .sockets import CATEGORY, Motion

FORMATS = ("safetensors", "pkl")


class SaveMotionTemplate(io.ComfyNode):
    """Save Motion Template."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_SaveMotionTemplate",
            display_name="Save Motion Template (LivePortrait)",
            category=CATEGORY,
            description=f"Saves driving motion into models/{TEMPLATES}/, where Load Motion Template finds it: "
                        "safetensors (this pack's format, with fps and frame count) or pkl (the official layout, "
                        "readable by the official LivePortrait code).",
            inputs=[
                Motion.Input("motion", tooltip="From Extract Motion or Load Motion Template."),
                io.String.Input("filename_prefix", default="motion",
                                tooltip="File name start; a counter and the extension are appended. May contain subfolders."),
                io.Combo.Input("format", options=list(FORMATS), default="safetensors",
                               tooltip="safetensors: this pack's format; pkl: the official template layout."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def validate_inputs(cls, format: str) -> bool | str:
        return check_choices(cls, format=format)

    @classmethod
    def execute(cls, motion: DrivingMotion, filename_prefix: str, format: str) -> io.NodeOutput:
        root = folder_paths.get_folder_paths(TEMPLATES)[0]
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, root)
        path = Path(folder) / f"{name}_{counter:05}_.{format}"
        save_template(motion.sequence.to("cpu"), path)
        return io.NodeOutput(ui=ui.PreviewText(str(Path(subfolder) / path.name)))
