"""Node: the source's keypoints driven by a motion sequence, with the official retargeting options."""
from __future__ import annotations

from ..liveportrait_core.motion.driving import DRIVING_OPTIONS, REGIONS, DrivingOptions, driven_keypoints
from ..liveportrait_core.motion.retargeting import unstitched_keypoints
from ..liveportrait_core.pipeline.engine import SourceState
from .animal_retarget import animal_retarget
from .choices import check_choices
from .comfy import io
from .models import LoadedModels
from .payloads import DrivenKeypoints, DrivingMotion
from .sockets import CATEGORY, Keypoints, Models, Motion, Source


def option_inputs() -> list[io.Input]:
    """The official driving options as node inputs (defaults of the official CLI)."""
    return [
        io.Boolean.Input("relative", default=True, label_on="relative", label_off="absolute",
                         tooltip="relative: apply the driving motion relative to its first frame (official default); "
                                 "absolute: copy the driving pose and expression."),
        io.Combo.Input("driving_option", options=list(DRIVING_OPTIONS), default="expression-friendly",
                       tooltip="expression-friendly rescales relative video motion to the source's face; "
                               "pose-friendly keeps it as driven."),
        io.Float.Input("driving_multiplier", default=1.0, min=-10.0, max=10.0, step=0.01,
                       tooltip="Motion strength: 0 keeps the source as it is, 1 follows the driving frames."),
        io.Combo.Input("animation_region", options=list(REGIONS), default="all",
                       tooltip="What the driving frames move: all, expression only, head pose only, lips or eyes."),
        io.Boolean.Input("eye_retargeting", default=False,
                         tooltip="Drive eye opening through the eye-retargeting network; needs eye-open ratios of the "
                                 "source and of the driving motion."),
        io.Boolean.Input("lip_retargeting", default=False,
                         tooltip="Drive lip opening through the lip-retargeting network; needs lip-open ratios of the "
                                 "source and of the driving motion."),
        io.Boolean.Input("normalize_lip", default=False,
                         tooltip="Close the source's open mouth before driving it (relative motion only); needs the "
                                 "source's lip-open ratio."),
    ]


def driving_options(relative: bool, driving_option: str, driving_multiplier: float, animation_region: str,
                    eye_retargeting: bool, lip_retargeting: bool, normalize_lip: bool) -> DrivingOptions:
    """The values of :func:`option_inputs` as core options (stitching is the Stitch node's job)."""
    return DrivingOptions(relative=relative, driving_option=driving_option, multiplier=driving_multiplier,
                          region=animation_region, stitching=False, eye_retargeting=eye_retargeting,
                          lip_retargeting=lip_retargeting, normalize_lip=normalize_lip)


def _check_ratios(source: SourceState, motion: DrivingMotion, options: DrivingOptions) -> None:
    """Clear errors for retargeting options whose eye / lip open ratios are missing."""
    retargeting = options.eye_retargeting or options.lip_retargeting
    wanted = [("eye_retargeting", "eye", options.eye_retargeting), ("lip_retargeting", "lip", options.lip_retargeting),
              ("normalize_lip", "lip", options.normalize_lip and options.relative and not retargeting)]
    for option, part, on in wanted:
        if on and getattr(source.motion, f"{part}_ratio") is None:
            raise ValueError(f"{option} needs the source's {part}-open ratio, which comes from face "
                             "landmarks, and input 'source' has none (crops from Crop Face from Box have no landmarks); "
                             "connect the crop output of Crop Faces to Extract Appearance's 'crop' input, or turn the "
                             "option off")
        if on and option != "normalize_lip" and getattr(motion.sequence, f"{part}_ratio") is None:
            raise ValueError(f"{option} needs a {part}-open ratio for every driving frame, and input 'motion' "
                             "has none; connect the crop output of Crop Driving Faces to Extract Motion's 'crop' input "
                             "(official templates d1/d2/d5/d7 carry ratios too), or turn the option off")


def retarget(models: LoadedModels, source: SourceState, motion: DrivingMotion, options: DrivingOptions) -> DrivenKeypoints:
    """Driven keypoints for every frame of ``motion``, before stitching (the animal pipeline for animal models)."""
    if models.animals:
        return animal_retarget(models, source, motion, options)
    _check_ratios(source, motion, options)
    engine = models.ready()
    driving = motion.sequence.to(engine.device)
    anchored, skip = motion.anchored()
    x_d = driven_keypoints(source.motion, anchored.to(engine.device), options, driving_is_image=motion.from_image)[skip:]
    x, after_stitching = unstitched_keypoints(
        engine.networks.stitching, source.x_s, x_d, options, source_eye_ratio=source.motion.eye_ratio,
        source_lip_ratio=source.motion.lip_ratio, driving_eye_ratio=driving.eye_ratio, driving_lip_ratio=driving.lip_ratio,
    )
    return DrivenKeypoints(source, x, after_stitching, options.multiplier, driving.fps)


class Retarget(io.ComfyNode):
    """Retarget."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_Retarget",
            display_name="Retarget (LivePortrait)",
            category=CATEGORY,
            description="Moves the source's keypoints by the driving motion with the official options (relative or "
                        "absolute motion, region, multiplier, eye/lip retargeting, lip normalisation). Follow it with "
                        "Stitch to keep the shoulders in place, then Render. With the animals models it runs the "
                        "official animal pipeline, where only driving_multiplier applies (the other options must stay "
                        "at their defaults) and Stitch is usually bypassed.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", tooltip="From Extract Appearance."),
                Motion.Input("motion", tooltip="From Extract Motion or Load Motion Template."),
                *option_inputs(),
            ],
            outputs=[Keypoints.Output(display_name="keypoints", tooltip="Per-frame driven keypoints, not yet stitched.")],
        )

    @classmethod
    def validate_inputs(cls, driving_option: str, animation_region: str) -> bool | str:
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region)

    @classmethod
    def execute(cls, models: LoadedModels, source: SourceState, motion: DrivingMotion, **options) -> io.NodeOutput:
        return io.NodeOutput(retarget(models, source, motion, driving_options(**options)))
