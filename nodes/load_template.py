"""Node: a motion template from the templates folder (official .pkl or ours in .safetensors)."""
from __future__ import annotations

from ..liveportrait_core.motion.templates import TEMPLATE_EXTENSIONS, load_template
from .choices import check_choices
from .comfy import io, model_management
from .folders import TEMPLATES, template_files, template_path
from .payloads import DrivingMotion
from .sockets import CATEGORY, Motion


class LoadMotionTemplate(io.ComfyNode):
    """Load Motion Template."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LoadMotionTemplate",
            display_name="Load Motion Template (LivePortrait)",
            category=CATEGORY,
            description=f"Loads driving motion saved earlier, from models/{TEMPLATES}/ (or a '{TEMPLATES}' folder of "
                        "extra_model_paths.yaml): official .pkl templates, read with a restricted unpickler that refuses "
                        "anything but plain data, or this pack's .safetensors templates.",
            inputs=[
                io.Combo.Input("template", options=template_files(TEMPLATE_EXTENSIONS),
                               tooltip=f"A .pkl or .safetensors motion template in the '{TEMPLATES}' folders."),
            ],
            outputs=[
                Motion.Output(display_name="motion", tooltip="The template's motion sequence."),
                io.Float.Output(display_name="fps", tooltip="The template's frame rate."),
            ],
        )

    @classmethod
    def validate_inputs(cls, template: str) -> bool | str:
        return check_choices(cls, template=template)

    @classmethod
    def fingerprint_inputs(cls, template: str) -> float:
        """Reload when the file changes."""
        return template_path(template).stat().st_mtime

    @classmethod
    def execute(cls, template: str) -> io.NodeOutput:
        sequence = load_template(template_path(template)).to(model_management.get_torch_device())
        return io.NodeOutput(DrivingMotion(sequence), sequence.fps)
