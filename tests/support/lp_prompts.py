"""Builders for ComfyUI API-format prompts that use the LivePortrait nodes (shared by the tests/nodes/ files)."""
from __future__ import annotations

from typing import Any

Link = tuple[str, int]  # (node id, output index)

# the official CLI's defaults, as Retarget / LivePortrait Animate inputs
DEFAULT_OPTIONS: dict[str, Any] = {
    "relative": True, "driving_option": "expression-friendly", "driving_multiplier": 1.0, "animation_region": "all",
    "eye_retargeting": False, "lip_retargeting": False, "normalize_lip": False,
}


class Graph:
    """An API-format prompt under construction; ``add`` returns the new node's id, links are ``(id, output)``."""

    def __init__(self) -> None:
        self.prompt: dict[str, dict[str, Any]] = {}

    def add(self, class_type: str, **inputs: Any) -> str:
        node = str(len(self.prompt) + 1)
        self.prompt[node] = {"class_type": class_type,
                             "inputs": {k: list(v) if isinstance(v, tuple) else v for k, v in inputs.items()}}
        return node


def models(g: Graph, variant: str = "human", precision: str = "auto") -> str:
    return g.add("LPK_LoadModels", variant=variant, precision=precision, download=False)


def animation(g: Graph, source: str, driving: Link, fps: float | Link = 25.0, *, stitch: bool = True,
              chunk_size: int = 4, **options: Any) -> dict[str, str]:
    """Load models -> Extract Appearance (from LoadImage ``source``) -> Extract Motion -> Retarget -> Stitch -> Render.

    Returns the node ids by step name.
    """
    ids = {"models": models(g), "source_image": g.add("LoadImage", image=source)}
    m = (ids["models"], 0)
    ids["appearance"] = g.add("LPK_ExtractAppearance", models=m, image=(ids["source_image"], 0))
    ids["motion"] = g.add("LPK_ExtractMotion", models=m, images=driving, fps=fps)
    ids["retarget"] = g.add("LPK_Retarget", models=m, source=(ids["appearance"], 0), motion=(ids["motion"], 0),
                            **{**DEFAULT_OPTIONS, **options})
    keypoints = (ids["retarget"], 0)
    if stitch:
        ids["stitch"] = g.add("LPK_Stitch", models=m, keypoints=keypoints)
        keypoints = (ids["stitch"], 0)
    ids["render"] = g.add("LPK_Render", models=m, keypoints=keypoints, chunk_size=chunk_size)
    return ids
