"""ComfyUI entry point of the LivePortrait node pack (V3 extension API).

The nodes are imported only when ComfyUI calls :func:`comfy_entrypoint`, so importing this package
outside ComfyUI (pytest does) needs nothing from ComfyUI.
"""


async def comfy_entrypoint():
    """The pack's ``ComfyExtension``."""
    from .nodes.extension import LivePortraitExtension

    return LivePortraitExtension()
