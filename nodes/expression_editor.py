"""Node: the expression sliders (official "Retargeting Image" panel and the AdvancedLivePortrait family) on a
still source, or on every frame of a driving motion, with a one-frame preview."""
from __future__ import annotations

from dataclasses import replace

from ..liveportrait_core.editing.apply_sliders import slider_keypoints
from ..liveportrait_core.editing.sliders import SLIDERS, ExpressionSliders
from ..liveportrait_core.motion.driving import DrivingOptions, driven_motion
from ..liveportrait_core.motion.retargeting import stitch
from ..liveportrait_core.pipeline.engine import SourceState
from .comfy import io, ui
from .images import to_image
from .models import LoadedModels
from .payloads import DrivenKeypoints, DrivingMotion
from .sockets import EDITING, Expression, Keypoints, Models, Motion, Source

_OFF = -1.0  # widget value of a ratio target that is off (any negative value)


def _tooltip(name: str) -> str:
    spec = SLIDERS[name]
    moves = "all keypoints" if spec.target != "exp" else "keypoints " + ", ".join(map(str, spec.keypoints))
    official = f"; official argument {spec.official}" if spec.official else ""
    if spec.neutral is None:
        return (f"{spec.label}: {spec.minimum:g} to {spec.maximum:g} through the retargeting network "
                f"(moves {moves}); negative = off{official}. Needs the source's landmarks (crop input of Extract Appearance).")
    return f"{spec.label}: {spec.minimum:g} to {spec.maximum:g}, neutral {spec.neutral:g}; moves {moves}{official}."


def slider_inputs() -> list[io.Float.Input]:
    """Every slider of :data:`SLIDERS` as a FLOAT widget with its official range, step and neutral value."""
    return [io.Float.Input(name, default=_OFF if spec.neutral is None else spec.neutral,
                           min=_OFF if spec.neutral is None else spec.minimum, max=spec.maximum, step=spec.step,
                           tooltip=_tooltip(name))
            for name, spec in SLIDERS.items()]


def widget_sliders(values: dict[str, float]) -> ExpressionSliders:
    """The slider state of :func:`slider_inputs`' values (a negative ratio target is off)."""
    return ExpressionSliders(**{name: None if SLIDERS[name].neutral is None and v < 0 else v for name, v in values.items()})


def edited_keypoints(models: LoadedModels, source: SourceState, sliders: ExpressionSliders,
                     motion: DrivingMotion | None = None, fps: float | None = None) -> DrivenKeypoints:
    """Keypoints of a slider state before stitching: the official still-image path on the source, or on the source
    driven relatively by ``motion`` (each frame measured against the motion's anchor, without rescaling)."""
    engine = models.ready()
    driven = None
    if motion is not None:
        anchored, skip = motion.anchored()
        driven = driven_motion(source.motion, anchored.to(engine.device), DrivingOptions(),
                               driving_is_image=motion.from_image)
        driven = driven.select(slice(skip, None))
    x = slider_keypoints(engine.networks.stitching, source.motion, sliders, driven, stitching=False)
    fps = fps or (motion.sequence.fps if motion is not None else source.motion.fps)
    return DrivenKeypoints(source, x, None, 1.0, fps)


def preview_frame(node: type[io.ComfyNode], models: LoadedModels, keypoints: DrivenKeypoints) -> ui.PreviewImage:
    """The first frame rendered with stitching, for the node's preview."""
    engine = models.ready()
    first = replace(keypoints, x=keypoints.x[:1])
    stitched = first.with_stitched(stitch(engine.networks.stitching, first.source.x_s, first.x))
    return ui.PreviewImage(to_image(next(engine.render(first.source, stitched.final(), 1))), cls=node)


class ExpressionEditor(io.ComfyNode):
    """Expression Editor."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_ExpressionEditor",
            display_name="Expression Editor (LivePortrait)",
            category=EDITING,
            description="Edits the source's expression and head pose with the official retargeting sliders (and the "
                        "blink / pupil / aaa-eee-woo family), as the official app's still-image editor does. With a "
                        "motion connected, the slider state is added to every frame of the motion driving the source. "
                        "Follow it with Stitch, then Render; the node shows the first edited frame.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                Source.Input("source", tooltip="From Extract Appearance."),
                Motion.Input("motion", optional=True,
                             tooltip="Optional driving motion: the source is driven relatively by it (pose-friendly, "
                                     "measured against its anchor frame) and every frame gets the slider edits."),
                Expression.Input("expression", optional=True,
                                 tooltip="Optional slider state (Load Expression, Keyframe Timeline, or another "
                                         "editor's output); when connected it replaces the slider widgets below. A "
                                         "per-frame state gives one edited frame per value (as many as the motion's "
                                         "frames when a motion is connected)."),
                io.Boolean.Input("preview", default=True,
                                 tooltip="Render the first edited frame as the node's preview (one 512x512 render)."),
                *slider_inputs(),
            ],
            outputs=[
                Keypoints.Output(display_name="keypoints", tooltip="The edited keypoints, not yet stitched, for Stitch "
                                                                   "and Render (one frame, or one per motion frame)."),
                Expression.Output(display_name="expression", tooltip="The slider state used, for Save Expression."),
            ],
            is_output_node=True,  # runs (and shows its preview) while the sliders are tuned, before Render is connected
        )

    @classmethod
    def execute(cls, models: LoadedModels, source: SourceState, preview: bool, motion: DrivingMotion | None = None,
                expression: ExpressionSliders | None = None, **sliders: float) -> io.NodeOutput:
        state = expression if expression is not None else widget_sliders(sliders)
        keypoints = edited_keypoints(models, source, state, motion)
        shown = preview_frame(cls, models, keypoints) if preview else None
        return io.NodeOutput(keypoints, state, ui=shown)
