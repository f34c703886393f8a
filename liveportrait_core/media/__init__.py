"""Image and video files: reading and writing uint8 RGB frames with Pillow and PyAV, streamed in chunks; sound in memory."""
from .background import read_ahead, write_behind
from .images import ALPHA_BACKGROUND, MediaError, read_image, write_png_frames
from .sound import Sound, Waveform
from .video import (VideoInfo, VideoWriter, fps_fraction, image_or_video, is_video, iter_video_frames, probe_video,
                    read_sound, write_frames)

__all__ = ["ALPHA_BACKGROUND", "MediaError", "Sound", "VideoInfo", "VideoWriter", "Waveform", "fps_fraction",
           "image_or_video", "is_video", "iter_video_frames", "probe_video", "read_ahead", "read_image", "read_sound",
           "write_behind", "write_frames", "write_png_frames"]
