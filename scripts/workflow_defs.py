"""The shipped example workflows, each described once (scripts/build_workflows.py writes both formats).

Inputs are placeholders the notes tell users to replace: ``portrait.jpg`` and ``driving.mp4`` in
ComfyUI's input folder (``two_faces.jpg`` and ``animal.jpg`` for the two-face and animal workflows,
``source.mp4`` for the source-video edits),
``webcam.png`` (the frame Webcam Capture captures; the API twin reads it from the input folder),
``d5.pkl`` (an official motion template) in ``models/liveportrait_templates``, ``RealESRGAN_x2plus.pth`` (an
upscale model) in ``models/upscale_models``.
"""
from __future__ import annotations

from collections.abc import Callable

from workflow_graph import Node, Workflow

PORTRAIT, DRIVING, TEMPLATE = "portrait.jpg", "driving.mp4", "d5.pkl"
TWO_FACES, ANIMAL = "two_faces.jpg", "animal.jpg"  # a picture with two faces; a cat or dog
SOURCE_VIDEO = "source.mp4"  # a video of a face to edit, with sound
UPSCALER = "RealESRGAN_x2plus.pth"  # a 2x upscale model (Real-ESRGAN's releases) in models/upscale_models
ANIMAL_BOX = {"x": 150, "y": 170, "w": 220, "h": 220}  # the dog's face in the official example s33.jpg
WEBCAM = "webcam.png"  # what the API twin takes for a Webcam Capture frame
ALL_FRAMES = 4096  # ImageFromBatch's largest length

MODELS_NOTE = """
**Weights**: the five LivePortrait checkpoints go into `models/liveportrait/` (downloaded from
huggingface.co/KwaiVGI/LivePortrait on first use while *download* is on); MediaPipe's
`face_landmarker.task` goes into `models/liveportrait/mediapipe/`.
"""


def _portrait(w: Workflow, column: int = 0) -> Node:
    return w.add("LoadImage", column, "Source portrait", image=PORTRAIT)


def _loaders(w: Workflow, column: int = 1) -> tuple[Node, Node]:
    """(models, detector) with the defaults: automatic precision, MediaPipe, downloads allowed."""
    return w.add("LPK_LoadModels", column), w.add("LPK_LoadFaceDetector", column)


def _driving_video(w: Workflow, detector: Node, column: int = 0) -> tuple[Node, Node]:
    """(driving face crops, video components: images, audio, fps) of the driving clip."""
    video = w.add("LoadVideo", column, "Driving video", file=DRIVING)
    components = w.add("GetVideoComponents", column + 1, video=video[0])
    frames = w.add("ImageFromBatch", column + 1, "First driving frames", image=components[0], batch_index=0,
                   length=ALL_FRAMES)
    crops = w.add("LPK_CropDrivingFaces", column + 2, detector=detector[0], images=frames[0])
    return crops, components


def _source_video(w: Workflow) -> tuple[Node, Node]:
    """(video components: images, audio, fps; its first frames) of the source video, in column 0."""
    video = w.add("LoadVideo", 0, "Source video", file=SOURCE_VIDEO)
    components = w.add("GetVideoComponents", 0, video=video[0])
    return components, w.add("ImageFromBatch", 0, "First source frames", image=components[0], batch_index=0,
                             length=ALL_FRAMES)


def _template(w: Workflow, column: int) -> Node:
    """Load Motion Template -> Trim Motion (all frames; lower *end* to try a few)."""
    template = w.add("LPK_LoadMotionTemplate", column, template=TEMPLATE)
    return w.add("LPK_TrimMotion", column, "Motion frames", motion=template[0], start=0, end=0)


def _source(w: Workflow, column: int, models: Node, detector: Node, portrait: Node) -> tuple[Node, Node]:
    """(cropped face, appearance) of the portrait, with the crop's eye / lip ratios."""
    crop = w.add("LPK_CropFaces", column, detector=detector[0], images=portrait[0])
    return crop, w.add("LPK_ExtractAppearance", column, models=models[0], image=crop[0], crop=crop[1])


def _render(w: Workflow, column: int, models: Node, keypoints: Node) -> Node:
    """Stitch -> Render."""
    stitched = w.add("LPK_Stitch", column, models=models[0], keypoints=keypoints[0])
    return w.add("LPK_Render", column, models=models[0], keypoints=stitched[0])


def _face_frames(w: Workflow, column: int, models: Node, detector: Node, picture: Node, face: int,
                 motion: Node) -> tuple[Node, Node]:
    """(crop, rendered frames) of face ``face``: Crop Faces -> Extract Appearance -> Retarget -> Stitch -> Render."""
    crop = w.add("LPK_CropFaces", column, f"Crop face {face}", detector=detector[0], images=picture[0], face=face)
    source = w.add("LPK_ExtractAppearance", column, models=models[0], image=crop[0], crop=crop[1])
    keypoints = w.add("LPK_Retarget", column + 1, models=models[0], source=source[0], motion=motion[0])
    return crop, _render(w, column + 1, models, keypoints)


def _paste_and_save(w: Workflow, column: int, frames: Node, crop: Node, portrait: Node, fps, audio=None) -> None:
    """Paste Back into the portrait -> Create Video (with the driving sound) -> Save Video."""
    pasted = w.add("LPK_PasteBack", column, frames=frames[0], crop=crop[1], original=portrait[0])
    video = w.add("CreateVideo", column, images=pasted[0], fps=fps, **({"audio": audio} if audio else {}))
    w.add("SaveVideo", column, video=video[0], filename_prefix="liveportrait/animated")


def animate_driving_video() -> Workflow:
    w = Workflow("animate_driving_video")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    driving, components = _driving_video(w, detector)
    w.note(0, """
## Animate a portrait with a driving video
1. **Source portrait**: pick your picture (upload it, or put it into ComfyUI's `input/`).
2. **Driving video**: pick a clip of a face talking or moving; its sound and frame rate are kept.
3. Queue. The face is cropped, animated and pasted back; the video lands in `output/liveportrait/`.

To try a few frames first, lower *length* in **First driving frames** (4096 = the whole clip).
""" + MODELS_NOTE)
    source = w.add("LPK_CropFaces", 2, detector=detector[0], images=portrait[0])
    animated = w.add("LPK_Animate", 3, models=models[0], source_image=source[0], driving_images=driving[0],
                     fps=components[2])
    w.note(3, """
**LivePortrait Animate** runs the whole chain. *driving_multiplier* scales the motion,
*animation_region* limits it (expression, pose, lips, eyes), *relative* off copies the driving pose.
On a GPU raise *chunk_size* for speed.
""")
    _paste_and_save(w, 4, animated, source, portrait, animated[1], components[1])
    return w


def animate_motion_template() -> Workflow:
    w = Workflow("animate_motion_template")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    template = _template(w, 1)
    w.note(0, f"""
## Animate a portrait with a motion template
A template is driving motion saved earlier: the official `.pkl` files (`d1`, `d2`, `d5`, `d7`, `laugh`,
`open_lip`, `shake_face` from the LivePortrait repository's `assets/examples/driving/`) or `.safetensors`
written by **Save Motion Template**. Put them into `models/liveportrait_templates/` and pick one in
**Load Motion Template** (this workflow names `{TEMPLATE}`). Lower *end* in **Motion frames** to try the
first frames only (0 = all).

The template brings its own frame rate; the video has no sound.
""" + MODELS_NOTE)
    source = w.add("LPK_CropFaces", 2, detector=detector[0], images=portrait[0])
    animated = w.add("LPK_Animate", 3, models=models[0], source_image=source[0], driving_motion=template[0])
    _paste_and_save(w, 4, animated, source, portrait, animated[1])
    return w


def step_by_step() -> Workflow:
    w = Workflow("step_by_step")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    driving, components = _driving_video(w, detector)
    w.note(0, """
## Step by step
The chain that **LivePortrait Animate** runs in one node, one step per node:
crop -> extract appearance / motion -> retarget -> stitch -> render -> paste back.

* The crop outputs give the eye / lip open ratios: turn on *eye_retargeting*, *lip_retargeting* or
  *normalize_lip* in **Retarget**.
* Bypass **Stitch** (Ctrl+B) to render without the stitching network (then skip Paste Back).
* **Save Motion Template** keeps the driving motion in `models/liveportrait_templates/` for later.
""" + MODELS_NOTE)
    source_crop, source = _source(w, 2, models, detector, portrait)
    motion = w.add("LPK_ExtractMotion", 3, models=models[0], images=driving[0], fps=components[2], crop=driving[1])
    w.add("LPK_SaveMotionTemplate", 3, motion=motion[0], filename_prefix="liveportrait/driving")
    keypoints = w.add("LPK_Retarget", 4, models=models[0], source=source[0], motion=motion[0])
    frames = _render(w, 4, models, keypoints)
    _paste_and_save(w, 5, frames, source_crop, portrait, frames[1], components[1])
    return w


def restore_before_paste() -> Workflow:
    w = Workflow("restore_before_paste")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    driving, components = _driving_video(w, detector)
    w.note(0, f"""
## Upscale (or restore) the face before pasting it back
Render draws the face at 512x512, which looks soft in a large picture (a 1080p frame, a print). Here the
rendered frames go through an upscale model before **Paste Back**, which takes frames of any square size and
pastes them over the same square, so the face keeps the detail of the larger size.

* **Load Upscale Model**: any model in `models/upscale_models/`; this workflow names `{UPSCALER}` (from
  Real-ESRGAN's releases on GitHub). A 2x model suits a face in a 1080p frame; a 4x one gives 2048x2048 faces.
* Paste Back's *feather* stays in pixels of the 512 crop: the soft edge covers the same part of the face
  at any size.
* Every frame is held at the larger size (12 MB a frame at 1024x1024): lower *length* in **First driving
  frames** for long clips.
""" + MODELS_NOTE)
    crop, source = _source(w, 2, models, detector, portrait)
    motion = w.add("LPK_ExtractMotion", 3, models=models[0], images=driving[0], fps=components[2], crop=driving[1])
    keypoints = w.add("LPK_Retarget", 3, models=models[0], source=source[0], motion=motion[0])
    frames = _render(w, 4, models, keypoints)
    upscaler = w.add("UpscaleModelLoader", 5, model_name=UPSCALER)
    upscaled = w.add("ImageUpscaleWithModel", 5, "Upscale the rendered faces", upscale_model=upscaler[0],
                     image=frames[0])
    w.note(5, """
**A face restorer** from another pack (a GFPGAN or CodeFormer node, e.g. ReActor's *Restore Face*) goes
here: connect Render's *frames* (or the upscaled ones) to it and its IMAGE output to Paste Back's *frames*.
Whatever it outputs must stay square, one picture per rendered frame.
""")
    _paste_and_save(w, 6, upscaled, crop, portrait, frames[1], components[1])
    return w


def text_to_image_animate() -> Workflow:
    w = Workflow("text_to_image_animate")
    checkpoint = w.add("CheckpointLoaderSimple", 0, ckpt_name="v1-5-pruned-emaonly-fp16.safetensors")
    positive = w.add("CLIPTextEncode", 0, "Prompt", clip=checkpoint[1],
                     text="portrait photo of a woman, head and shoulders, facing the camera, neutral expression, "
                          "soft studio light, sharp focus")
    negative = w.add("CLIPTextEncode", 0, "Negative prompt", clip=checkpoint[1],
                     text="profile, side view, hands, blurry, deformed, text, watermark")
    latent = w.add("EmptyLatentImage", 0, width=512, height=512, batch_size=1)
    sampled = w.add("KSampler", 1, model=checkpoint[0], positive=positive[0], negative=negative[0],
                    latent_image=latent[0], seed=42, steps=20, cfg=7.0, sampler_name="euler", scheduler="normal")
    portrait = w.add("VAEDecode", 1, samples=sampled[0], vae=checkpoint[2])
    w.add("PreviewImage", 1, images=portrait[0])
    w.note(1, f"""
## Generate a portrait, then animate it
Any image model works: pick your checkpoint in **Load Checkpoint** (`models/checkpoints/`) and keep the
prompt to one face looking at the camera. The generated picture is cropped, driven by a motion template
(`models/liveportrait_templates/{TEMPLATE}`) and pasted back.
""" + MODELS_NOTE)
    models, detector = _loaders(w, 2)
    template = _template(w, 2)
    source = w.add("LPK_CropFaces", 3, detector=detector[0], images=portrait[0])
    animated = w.add("LPK_Animate", 3, models=models[0], source_image=source[0], driving_motion=template[0])
    _paste_and_save(w, 4, animated, source, portrait, animated[1])
    return w


def edit_expression() -> Workflow:
    w = Workflow("edit_expression")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    w.note(0, """
## Edit the expression of a still portrait
Move the sliders of **Expression Editor**: the node previews the first frame as you queue, the result
is pasted back and saved as a picture. Sliders at their neutral value change nothing; *target_eye_ratio*
and *target_lip_ratio* are off while negative.

**Save Expression** keeps the slider state (JSON) in `models/liveportrait_templates/`, for
**Load Expression** or the Keyframe Timeline.
""" + MODELS_NOTE)
    crop, source = _source(w, 2, models, detector, portrait)
    edited = w.add("LPK_ExpressionEditor", 3, models=models[0], source=source[0], smile=0.8, yaw=8.0, eyebrow=10.0)
    w.add("LPK_SaveExpression", 3, expression=edited[1], filename_prefix="liveportrait/expression")
    frames = _render(w, 4, models, edited)
    pasted = w.add("LPK_PasteBack", 4, frames=frames[0], crop=crop[1], original=portrait[0])
    w.add("SaveImage", 5, images=pasted[0], filename_prefix="liveportrait/edited")
    return w


def keyframe_timeline() -> Workflow:
    w = Workflow("keyframe_timeline")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    w.note(0, """
## Animate a still portrait from keyframes, without a driving video
**Keyframe Timeline** takes a JSON list: each keyframe a *frame* number, optional *easing* to the next
one (linear, ease_in, ease_out, ease_in_out, ...) and Expression Editor slider values (unset = neutral).
*frame_count* 0 ends at the last keyframe; *fps* sets the video's rate.
""" + MODELS_NOTE)
    crop, source = _source(w, 2, models, detector, portrait)
    timeline = w.add("LPK_KeyframeTimeline", 3, models=models[0], source=source[0])
    frames = _render(w, 4, models, timeline)
    _paste_and_save(w, 5, frames, crop, portrait, frames[1])
    return w


def long_video_to_file() -> Workflow:
    w = Workflow("long_video_to_file")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    w.note(0, """
## Long driving videos, straight to a file
**Render to Video File** decodes the driving video in chunks and writes each rendered, pasted-back
chunk before the next: memory stays flat however long the clip. The driving video is picked in the
node itself (ComfyUI's `input/`); sound and frame rate are kept. *max_frames* > 0 animates only the
first frames. The .mp4 lands in `output/liveportrait/`.
""" + MODELS_NOTE)
    crop, source = _source(w, 2, models, detector, portrait)
    w.add("LPK_RenderToFile", 3, models=models[0], source=source[0], driving_video=DRIVING, crop=crop[1],
          original=portrait[0], detector=detector[0], filename_prefix="liveportrait/long")
    return w


def two_faces() -> Workflow:
    w = Workflow("two_faces")
    picture = w.add("LoadImage", 0, "Picture with two faces", image=TWO_FACES)
    models, detector = _loaders(w)
    driving, components = _driving_video(w, detector)
    w.note(0, f"""
## Two faces, two drivers
Face 0 (the largest) follows the driving video, face 1 the motion template `{TEMPLATE}`. Each face has
its own chain, crop -> appearance -> retarget -> stitch -> render -> paste back, and the second
**Paste Back** pastes into the first one's frames, so both faces move in one video.

* **Picture with two faces**: pick your picture; set *face* in **Crop face 0 / 1** to choose faces.
* Another driver: connect any motion (Extract Motion, Load Motion Template) to either **Retarget**.
* More faces: copy a face's chain and paste into the last Paste Back's images.
* The video is as long as the shorter driver; *frame_policy* loop on the second Paste Back loops it.
""" + MODELS_NOTE)
    video_motion = w.add("LPK_ExtractMotion", 3, models=models[0], images=driving[0], fps=components[2], crop=driving[1])
    crop_a, frames_a = _face_frames(w, 4, models, detector, picture, 0, video_motion)
    first = w.add("LPK_PasteBack", 6, "Paste back face 0", frames=frames_a[0], crop=crop_a[1], original=picture[0])
    crop_b, frames_b = _face_frames(w, 4, models, detector, picture, 1, _template(w, 3))
    _paste_and_save(w, 6, frames_b, crop_b, first, components[2], components[1])
    return w


def animal_from_box() -> Workflow:
    w = Workflow("animal_from_box")
    picture = w.add("LoadImage", 0, "Animal picture", image=ANIMAL)
    models = w.add("LPK_LoadModels", 1, variant="animals")
    template = _template(w, 1)
    w.note(0, """
## Animate a cat or dog from a face box
No face detector here: **Face box** crops around the box typed into *x*, *y* (top-left corner) and
*w*, *h* (size), in pixels of your picture (these values fit the dog of LivePortrait's example
`s33.jpg`). Instead, connect a MASK of the face, a detector's SEGS (Impact Pack) or a BBOX, or set
*mode* to center for a picture that is mostly face.

**Load LivePortrait Models** loads the animals weights (`animal/` or `base_models_v1.1/` in
`models/liveportrait/`, downloaded on first use). Retarget then runs the official animal pipeline: only
*driving_multiplier* applies (the official example uses 1.75). Stitch is left out, as the official
animal pipeline recommends; the crop has no landmarks, so eye / lip retargeting are unavailable.
""")
    crop = w.add("LPK_CropFaceBox", 2, "Face box", images=picture[0], **ANIMAL_BOX)
    source = w.add("LPK_ExtractAppearance", 2, models=models[0], image=crop[0], crop=crop[1])
    keypoints = w.add("LPK_Retarget", 3, models=models[0], source=source[0], motion=template[0])
    frames = w.add("LPK_Render", 3, models=models[0], keypoints=keypoints[0])
    _paste_and_save(w, 4, frames, crop, picture, frames[1])
    return w


def source_video_edit() -> Workflow:
    w = Workflow("source_video_edit")
    components, frames = _source_video(w)
    models, detector = _loaders(w)
    template = _template(w, 1)
    w.note(0, f"""
## Edit the expression of a source video (video-to-video)
The face in every frame of **Source video** keeps its own head motion and gets the expression of the
motion template (`models/liveportrait_templates/{TEMPLATE}`); the frames are pasted back and saved with
the source's frame rate and sound. For a driving video instead, feed **Extract Motion** into *motion*.

* **First source frames**: lower *length* to try a few frames (4096 = the whole video).
* **Animate Source Video**: *frame_policy* loop / ping-pong runs a short template over the whole video
  (shortest, the official choice, stops with the shorter); *smooth_variance* smooths the transferred
  motion; *eye_hold* keeps the eyes as open as in the first frame.
* Frames without the face are kept as they are; its *missing_frames* output lists them (connect a
  **Preview Any** node to see the list).
""" + MODELS_NOTE)
    crop = w.add("LPK_CropFaces", 2, detector=detector[0], images=frames[0], frames="video", on_missing_face="skip")
    edited = w.add("LPK_AnimateSourceVideo", 3, models=models[0], images=frames[0], crop=crop[1], motion=template[0])
    video_out = w.add("CreateVideo", 4, images=edited[0], fps=components[2], audio=components[1])
    w.add("SaveVideo", 4, video=video_out[0], filename_prefix="liveportrait/edited_video")
    return w


def edit_source_video() -> Workflow:
    w = Workflow("edit_source_video")
    components, frames = _source_video(w)
    models, detector = _loaders(w)
    w.note(0, """
## Edit the expression of a source video with the sliders
Move the sliders of **Expression Editor** (it previews them on the first frame): **Animate Source Video**
applies them to every frame of **Source video**, each from its own head pose and expression, so the
person smiles (or looks aside, opens the mouth ...) all through the clip; the frames are pasted back and
saved with the source's frame rate and sound. Neutral sliders leave the face as it is.

* **First source frames**: lower *length* to try a few frames (4096 = the whole video).
* To change the expression over time, connect **Keyframe Timeline**'s *expression* output instead (its
  frame numbers are the video's); to drive the face as well, connect a motion too (the sliders then act
  on top of it).
""" + MODELS_NOTE)
    crop = w.add("LPK_CropFaces", 2, detector=detector[0], images=frames[0], frames="video", on_missing_face="skip")
    first = w.add("ImageFromBatch", 2, "First frame", image=frames[0], batch_index=0, length=1)
    _, source = _source(w, 3, models, detector, first)
    edited = w.add("LPK_ExpressionEditor", 4, models=models[0], source=source[0], smile=0.8)
    animated = w.add("LPK_AnimateSourceVideo", 5, models=models[0], images=frames[0], crop=crop[1],
                     expression=edited[1])
    video_out = w.add("CreateVideo", 6, images=animated[0], fps=components[2], audio=components[1])
    w.add("SaveVideo", 6, video=video_out[0], filename_prefix="liveportrait/smiling_video")
    return w


def live_webcam() -> Workflow:
    w = Workflow("live_webcam")
    portrait = _portrait(w)
    models, detector = _loaders(w)
    camera = w.add("WebcamCapture", 0, "Webcam", image=WEBCAM, width=640, height=480, capture_on_queue=True)
    w.note(1, """
## Live: your webcam drives the portrait
1. **Source portrait**: pick your picture. Allow the browser to use the camera (**Webcam**).
2. Turn on **auto-queue** (Queue button menu: *Run (On Change)* or *Run (Instant)*) and queue once.
   Each prompt captures one frame and renders it; the portrait is prepared only once.
3. Look straight at the camera on the first frame: it is the reference. To re-centre, change
   *reference* in **Live Portrait** (any other number) and the next frame becomes the new reference.

On a GPU each prompt takes a few tens of milliseconds of rendering; on a CPU, seconds.
""" + MODELS_NOTE)
    live = w.add("LPK_LivePortrait", 2, models=models[0], source_image=portrait[0], driving_frame=camera[0],
                 detector=detector[0])
    w.add("PreviewImage", 3, images=live[0])
    return w


WORKFLOWS: list[Callable[[], Workflow]] = [
    animate_driving_video, animate_motion_template, step_by_step, restore_before_paste, text_to_image_animate,
    edit_expression, keyframe_timeline, long_video_to_file, two_faces, animal_from_box, source_video_edit,
    edit_source_video, live_webcam,
]
