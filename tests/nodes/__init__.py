"""nodes/: the ComfyUI nodes, driven through a real ComfyUI server."""
