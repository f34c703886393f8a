"""liveportrait_core.motion: pose, driving, retargeting, motion operations, templates and the animal motion."""
