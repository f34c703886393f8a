"""Checking dropdown values: ComfyUI 0.3.75 does not compare V3 combo inputs with their options itself."""
from __future__ import annotations

from typing import Any

from .comfy import io


def check_choices(node: type[io.ComfyNode], **values: Any) -> bool | str:
    """``validate_inputs`` result for combo inputs of ``node``: True, or what is wrong (linked inputs, None here, pass)."""
    options = {i.id: i.options for i in node.define_schema().inputs if isinstance(i, io.Combo.Input)}
    wrong = [f"{name} is {value!r}, expected one of {options[name]}"
             for name, value in values.items() if value is not None and value not in options[name]]
    return "; ".join(wrong) or True
