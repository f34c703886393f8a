"""Socket types of the pack; the ``LPK_`` prefix keeps them apart from other LivePortrait packs' types."""
from .comfy import io

CATEGORY = "LivePortrait"
EDITING = f"{CATEGORY}/Editing"  # expression sliders, reference expressions, keyframes
MOTION_OPS = f"{CATEGORY}/Motion"  # motion in -> motion out

Models = io.Custom("LPK_MODELS")  # LoadedModels: the five networks, their engine and ModelPatcher
Source = io.Custom("LPK_SOURCE")  # liveportrait_core.pipeline.engine.SourceState: one source face's features and motion
Motion = io.Custom("LPK_MOTION")  # DrivingMotion: a driving motion sequence
Keypoints = io.Custom("LPK_KEYPOINTS")  # DrivenKeypoints: per-frame keypoints that render the source
Crop = io.Custom("LPK_CROP")  # FaceCrop: where faces were cut from their frames, for ratios and paste-back
Detector = io.Custom("LPK_DETECTOR")  # a face detector (liveportrait_core.faces.FaceDetector)
Expression = io.Custom("LPK_EXPRESSION")  # liveportrait_core.editing.sliders.ExpressionSliders: a slider state
