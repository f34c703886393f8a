"""LivePortrait as a plain PyTorch library: networks, weights, motion math and rendering.

Importable without ComfyUI; the node pack in ``nodes/`` is thin glue over this package.
"""

__version__ = "0.1.0"
