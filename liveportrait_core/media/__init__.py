"""Image and video files: reading and writing uint8 RGB frames with Pillow and PyAV, streamed in chunks."""
from .images import ALPHA_BACKGROUND, MediaError, read_image, write_png_frames
from .video import (MediaKind, VideoInfo, VideoWriter, fps_fraction, is_video, iter_video_frames, media_kind, probe_video,
                    write_frames)

__all__ = ["ALPHA_BACKGROUND", "MediaError", "MediaKind", "VideoInfo", "VideoWriter", "fps_fraction", "is_video",
           "iter_video_frames", "media_kind", "probe_video", "read_image", "write_frames", "write_png_frames"]
