"""liveportrait_core.pipeline: chunked rendering, streaming to a file, video-to-video and several faces."""
