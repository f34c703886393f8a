"""Retarget with the animal checkpoints: the official animal pipeline, whose only option is the driving multiplier."""
from __future__ import annotations

from ..liveportrait_core.motion.animals import ANIMAL_OPTIONS, animal_keypoints, check_animal_options
from ..liveportrait_core.motion.driving import DrivingOptions
from ..liveportrait_core.pipeline.engine import SourceState
from .models import LoadedModels
from .payloads import DrivenKeypoints, DrivingMotion


def animal_retarget(models: LoadedModels, source: SourceState, motion: DrivingMotion,
                    options: DrivingOptions) -> DrivenKeypoints:
    """Driven keypoints of the animal pipeline (:func:`~liveportrait_core.motion.animals.animal_keypoints`), not stitched:
    the official advice is to leave stitching off for animals, so the Stitch node is usually bypassed."""
    try:
        check_animal_options(options)
    except ValueError as err:
        raise ValueError(f"The animals models are driven by the official animal pipeline, and {err}: leave "
                         "relative on, driving_option expression-friendly, animation_region all and the eye / lip "
                         "options off") from None
    if motion.from_image:
        raise ValueError("The animal pipeline moves the animal by the change from the first driving frame, "
                         "so a single driving image cannot move it; connect a driving video's frames or a motion template")
    engine = models.ready()
    anchored, skip = motion.anchored()
    x = animal_keypoints(None, source.motion, anchored.to(engine.device), ANIMAL_OPTIONS)[skip:]
    return DrivenKeypoints(source, x, None, options.multiplier, motion.sequence.fps)
