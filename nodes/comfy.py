"""The one place the pack imports ComfyUI, so an API change in ComfyUI touches only this file.

Everything else in ``nodes/`` takes ComfyUI's schema types, folder registry, memory management and
progress bar from here.
"""
import comfy.model_management as model_management
import folder_paths
from comfy.model_patcher import ModelPatcher
from comfy.patcher_extension import CallbacksMP
from comfy.utils import ProgressBar
from comfy_api.latest import ComfyExtension, Input, InputImpl, io, ui

__all__ = ["CallbacksMP", "ComfyExtension", "Input", "InputImpl", "ModelPatcher", "ProgressBar", "folder_paths", "io",
           "model_management", "ui"]
