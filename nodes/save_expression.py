"""Node: save a slider state as JSON into the templates folder."""
from __future__ import annotations

from pathlib import Path

from ..liveportrait_core.editing.slider_files import save_sliders
from ..liveportrait_core.editing.sliders import ExpressionSliders
from .comfy import folder_paths, io, ui
from .folders import EXPRESSION_SUFFIX, TEMPLATES
from .sockets import EDITING, Expression


class SaveExpression(io.ComfyNode):
    """Save Expression."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_SaveExpression",
            display_name="Save Expression (LivePortrait)",
            category=EDITING,
            description=f"Saves an Expression Editor slider state as JSON (every slider value, format version and a "
                        f"description) into models/{TEMPLATES}/, where Load Expression lists it. A per-frame state (Keyframe "
                        f"Timeline) is saved with one value per frame and loads back as one.",
            inputs=[
                Expression.Input("expression", tooltip="From the Expression Editor's or Keyframe Timeline's expression output."),
                io.String.Input("filename_prefix", default="expression",
                                tooltip="File name start; a counter and .json are appended. May contain subfolders."),
                io.String.Input("description", default="", tooltip="Free text stored with the sliders (metadata)."),
            ],
            outputs=[],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, expression: ExpressionSliders, filename_prefix: str, description: str) -> io.NodeOutput:
        root = folder_paths.get_folder_paths(TEMPLATES)[0]
        folder, name, counter, subfolder, _ = folder_paths.get_save_image_path(filename_prefix, root)
        path = Path(folder) / f"{name}_{counter:05}_{EXPRESSION_SUFFIX}"
        save_sliders(expression, path, {"description": description, "changed": sorted(expression.changed())})
        return io.NodeOutput(ui=ui.PreviewText(str(Path(subfolder) / path.name)))
