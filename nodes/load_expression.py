"""Node: a slider state saved by Save Expression."""
from __future__ import annotations

import json

from ..liveportrait_core.editing.slider_files import load_sliders
from .choices import check_choices
from .comfy import io
from .folders import EXPRESSION_SUFFIX, TEMPLATES, template_files, template_path
from .sockets import EDITING, Expression


class LoadExpression(io.ComfyNode):
    """Load Expression."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LoadExpression",
            display_name="Load Expression (LivePortrait)",
            category=EDITING,
            description=f"Loads a slider state (.json of Save Expression) from models/{TEMPLATES}/; connect it to the "
                        "Expression Editor's expression input.",
            inputs=[
                io.Combo.Input("expression", options=template_files((EXPRESSION_SUFFIX,)),
                               tooltip=f"A .json slider state in the '{TEMPLATES}' folders."),
            ],
            outputs=[
                Expression.Output(display_name="expression", tooltip="The slider state; sliders missing from the file "
                                                                      "are neutral."),
                io.String.Output(display_name="metadata", tooltip="The file's metadata as JSON text."),
            ],
        )

    @classmethod
    def validate_inputs(cls, expression: str) -> bool | str:
        return check_choices(cls, expression=expression)

    @classmethod
    def fingerprint_inputs(cls, expression: str) -> float:
        """Reload when the file changes."""
        return template_path(expression).stat().st_mtime

    @classmethod
    def execute(cls, expression: str) -> io.NodeOutput:
        sliders, metadata = load_sliders(template_path(expression))
        return io.NodeOutput(sliders, json.dumps(metadata))
