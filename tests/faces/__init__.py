"""liveportrait_core.faces: detectors, crop geometry and images, driving crops, ratios and paste-back."""
