"""Motion as data: the motion sequence, pose decoding, driving, retargeting, motion operations and templates."""
