"""Driving keypoints of the animal pipeline (official ``LivePortraitPipelineAnimal.execute``).

Each driving frame's rotation, expression and translation are posed on the source's canonical
keypoints with the source's scale, ``x_d,i = s_s · (kp_s @ R_d,i + δ_d,i) + t_d,i``; the change from
driving frame 0 is rescaled to the source (``(x_d,i − x_d,0) · m + x_s``, the expression-friendly
multiplier :func:`~.driving.motion_multiplier`); then optional stitching and the driving multiplier.

Official defaults and advice (``inference_animals.py``, README): stitching is an option that the
README turns off for animals (``--no_flag_stitching``), so it is off by default here; the
multiplier defaults to 1 (the README's example uses 1.75); relative/absolute, animation region,
driving option and eye/lip retargeting do not exist in the animal pipeline. The official animal
pipeline pastes back only with stitching on; here paste-back is independent of stitching.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ..networks.stitching import StitchingRetargeting
from .driving import DrivingOptions, apply_driving_multiplier, expression_friendly, source_keypoints
from .pose import transform_keypoints
from .retargeting import stitch
from .sequence import MotionSequence

ANIMAL_OPTIONS = DrivingOptions(stitching=False)  # the official recommendation for animals


def check_animal_options(options: DrivingOptions) -> None:
    """Refuse options that the animal pipeline has no use for (only stitching and the multiplier apply)."""
    unused = [name for name in ("relative", "driving_option", "region", "eye_retargeting", "lip_retargeting", "normalize_lip")
              if getattr(options, name) != getattr(ANIMAL_OPTIONS, name)]
    if unused:
        raise ValueError(f"the animal pipeline does not use {', '.join(unused)}; only stitching and the driving "
                         "multiplier apply to animals (drop those options)")


@torch.inference_mode()
def animal_keypoints(module: StitchingRetargeting | None, source: MotionSequence, driving: MotionSequence,
                     options: DrivingOptions = ANIMAL_OPTIONS) -> Tensor:
    """(N, 21, 3) driving keypoints of the animal pipeline (module docstring).

    Args:
        source: one frame with R, exp, scale, t, kp.
        driving: N frames with R, exp, t (frame 0 is the reference).
    """
    check_animal_options(options)
    x_s = source_keypoints(source)
    x = transform_keypoints(source.kp, driving.R, driving.exp, source.scale, driving.t)
    x = expression_friendly(x, x_s)
    if options.stitching:
        if module is None:
            raise ValueError("stitching needs the stitching_retargeting module")
        x = stitch(module, x_s, x)
    return apply_driving_multiplier(x_s, x, options.multiplier)
