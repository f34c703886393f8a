"""Node: live animation, one prompt per driving frame (ComfyUI's Webcam Capture with auto-queue drives it).

The prepared source (crop, feature volume, motion, paste-back mask) and the session (reference frame, smoothing
state, followed face) are kept between prompts, per node of the graph: preparing happens again only when the
portrait, the models, the detector or the options change. Changing ``reference`` re-centres: the next frame's
pose and expression become the portrait's. When ComfyUI moves the weights a session was made with (unloads them
for /free or to make room for other models, or loads them again after a partial unload), the session is closed, so
its device memory goes back too and its CUDA graph never replays against weights that have moved; the next prompt
prepares a fresh one.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import Tensor

from ..liveportrait_core.editing.sliders import ExpressionSliders
from ..liveportrait_core.faces import FaceDetector
from ..liveportrait_core.faces.pasteback import DEFAULT_FEATHER
from ..liveportrait_core.live import LiveOptions, LiveSession, PreparedSource, prepare_source
from ..liveportrait_core.live.session import ON_MISSING, SMOOTHING
from ..liveportrait_core.pipeline.engine import LivePortraitEngine
from .choices import check_choices
from .comfy import io
from .images import check_image, from_uint8, to_uint8
from .models import LoadedModels
from .render import progress_hook
from .retarget import driving_options, option_inputs
from .sockets import CATEGORY, Detector, Expression, Models

NODE = "Live Portrait"


@dataclass
class _Live:
    """One node's kept state: what its source and session were made from, and the session."""

    image: Tensor  # the portrait as given: ComfyUI hands the same tensor again while its node's output is cached
    source_key: tuple
    session_key: tuple
    reference: int
    session: LiveSession


_KEPT: dict[str, _Live] = {}  # node id of the graph -> its live state


def _fingerprint(image: Tensor) -> str:
    """A digest of the portrait's pixels, so an unchanged portrait is not prepared again."""
    return hashlib.blake2b(to_uint8(image).cpu().numpy().tobytes(), digest_size=16).hexdigest()


def _release(engine: LivePortraitEngine) -> None:
    """Close and forget the kept sessions made with ``engine``, whose weights ComfyUI has just moved."""
    for node in [node for node, kept in _KEPT.items() if kept.session.engine is engine]:
        _KEPT.pop(node).session.close()


def live_session(node: str, models: LoadedModels, detector: FaceDetector | None, source_image: Tensor,
                 options: LiveOptions, reference: int) -> LiveSession:
    """The node's kept session, made (or its source prepared) again when what it depends on changed."""
    engine = models.ready()
    kept = _KEPT.get(node)
    # the session holds the engine and the detector, so their ids cannot be reused while it is kept
    same_image = kept is not None and kept.image is source_image
    source_key = (id(engine), id(detector), kept.source_key[2] if same_image else _fingerprint(source_image),
                  options.feather)
    session_key = (source_key, options)
    if kept is not None and kept.session_key == session_key:
        kept.image = source_image
        if kept.reference != reference:
            kept.session.recentre()
            kept.reference = reference
        return kept.session
    source: PreparedSource | None = None
    if kept is not None:
        if kept.source_key == source_key:
            source = kept.session.source
        kept.session.close()
        del _KEPT[node]
    if source is None:
        source = prepare_source(engine, to_uint8(source_image)[0].cpu().numpy(), detector, feather=options.feather)
    session = LiveSession(engine, source, detector, options)
    _KEPT[node] = _Live(source_image, source_key, session_key, reference, session)
    models.on_weights_moved(__name__, partial(_release, engine))
    return session


class LivePortrait(io.ComfyNode):
    """Live Portrait."""

    @classmethod
    def define_schema(cls) -> io.Schema:
        return io.Schema(
            node_id="LPK_LivePortrait",
            display_name="Live Portrait (LivePortrait)",
            category=CATEGORY,
            description="Animates the portrait with one driving frame per prompt, for live use: connect ComfyUI's "
                        "Webcam Capture to 'driving_frame' and turn on auto-queue. The portrait is prepared once and "
                        "kept with the session between prompts; the first frame is the reference the motion is "
                        "measured from (change 'reference' to re-centre on the next frame). Unloading the models "
                        "(ComfyUI's Unload Models / Free model and node cache) ends the session: the next frame is "
                        "the reference again. A frame without a face shows the last good one.",
            inputs=[
                Models.Input("models", tooltip="From Load LivePortrait Models."),
                io.Image.Input("source_image", tooltip="The portrait to animate (its largest face is cropped and "
                                                       "pasted back); one image."),
                io.Image.Input("driving_frame", tooltip="The driving frame, e.g. from Webcam Capture; a batch is "
                                                        "played in order, as a live stream."),
                Detector.Input("detector", optional=True,
                               tooltip="Finds the face in the portrait and follows it in the driving frames; needed "
                                       "unless both are face crops (square, at most 512 px)."),
                *option_inputs(),
                io.Boolean.Input("stitching", default=True, tooltip="Apply the stitching network (official default: on)."),
                io.Combo.Input("smoothing", options=list(SMOOTHING), default="none",
                               tooltip="Causal smoothing of the driving motion: kalman (the official filter, forward "
                                       "only) or one_euro (speed-adaptive)."),
                io.Int.Input("reference", default=0, min=0, max=2**31 - 1,
                             tooltip="Change this number to re-centre: the next frame's pose and expression become "
                                     "the portrait's."),
                io.Combo.Input("on_missing_face", options=list(ON_MISSING), default="hold",
                               tooltip="A driving frame without a face shows the last good frame (hold) or the "
                                       "portrait at rest (source)."),
                io.Boolean.Input("paste_back", default=True,
                                 tooltip="Paste the face back into the portrait; off gives the 512x512 face."),
                Expression.Input("expression", optional=True,
                                 tooltip="Expression sliders (from the Expression Editor) added on top of the driving "
                                         "motion, live."),
            ],
            outputs=[
                io.Image.Output(display_name="frame", tooltip="The animated portrait, one per driving frame."),
                io.Boolean.Output(display_name="face_found",
                                  tooltip="Whether the (last) driving frame had a face; when not, the frame shown is "
                                          "the held or the source one."),
            ],
            hidden=[io.Hidden.unique_id],
        )

    @classmethod
    def validate_inputs(cls, driving_option: str, animation_region: str, smoothing: str, on_missing_face: str) -> bool | str:
        return check_choices(cls, driving_option=driving_option, animation_region=animation_region,
                             smoothing=smoothing, on_missing_face=on_missing_face)

    @classmethod
    def execute(cls, models: LoadedModels, source_image: Tensor, driving_frame: Tensor, stitching: bool,
                smoothing: str, reference: int, on_missing_face: str, paste_back: bool,
                detector: FaceDetector | None = None, expression: ExpressionSliders | None = None,
                **options) -> io.NodeOutput:
        check_image(source_image, f"{NODE}: input 'source_image'")
        check_image(driving_frame, f"{NODE}: input 'driving_frame'")
        if source_image.shape[0] != 1:
            raise ValueError(f"{NODE}: input 'source_image' holds {source_image.shape[0]} images; animate one (pick it "
                             "with the 'Image From Batch' node)")
        live = LiveOptions(replace(driving_options(**options), stitching=stitching), smoothing=smoothing,
                           on_missing=on_missing_face, paste_back=paste_back, feather=DEFAULT_FEATHER)
        session = live_session(cls.hidden.unique_id or NODE, models, detector, source_image, live, reference)
        session.sliders = expression
        frames = to_uint8(driving_frame).cpu().numpy()
        progress = progress_hook(len(frames))
        images, found = [], True
        for done, frame in enumerate(frames, start=1):
            result = session.process(frame)
            images.append(torch.from_numpy(result.image))
            found = result.face
            progress(done, len(frames))
        return io.NodeOutput(from_uint8(torch.stack(images)), found)
