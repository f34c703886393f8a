"""liveportrait_core.media: image and video reading and writing."""
