"""A tiny ComfyUI custom node pack for the tests: it emits what VideoHelperSuite's loaders emit, and edge cases.

``ComfyServer.start`` links it into the test server's ``custom_nodes``. Written from VideoHelperSuite's documented
output types, not from its code:

* ``VHSLike_LoadVideo`` mimics *Load Video (Upload / Path)* (``VHS_LoadVideo``, ``VHS_LoadVideoPath``): an IMAGE batch,
  ``frame_count`` INT, ``audio`` AUDIO given as a mapping that decodes the sound only when it is read (VHS's lazy
  audio), and ``video_info`` (``VHS_VIDEOINFO``, a dict of source_* / loaded_* fps, frame counts, durations, sizes);
* ``VHSLike_VideoInfo`` mimics *Video Info*: the loaded fps as FLOAT and the frame count as INT from ``video_info``;
* ``LPKTest_Tone`` makes an AUDIO of a given length (core Load Audio needs torchaudio, which the CPU test host lacks);
* ``LPKTest_EmptyVideo`` makes a VIDEO with no frames, ``LPKTest_VideoFromBytes`` a file-backed VIDEO held as bytes.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from fractions import Fraction

import av
import numpy as np
import torch

import folder_paths
from comfy_api.latest import InputImpl
from comfy_api.latest._util import VideoComponents


def _input_path(video: str) -> str:
    return video if os.path.isabs(video) else folder_paths.get_annotated_filepath(video)


class LazyAudio(Mapping):
    """An AUDIO mapping whose samples are decoded from the file the first time a key is read."""

    def __init__(self, path: str, seconds: float):
        self.path, self.seconds, self._audio = path, seconds, None

    def _loaded(self) -> dict:
        if self._audio is None:
            with av.open(self.path) as container:
                if not container.streams.audio:
                    raise RuntimeError(f"{self.path} has no audio stream")
                stream = container.streams.audio[0]
                samples = np.concatenate([f.to_ndarray().reshape(stream.channels, -1) for f in container.decode(stream)], 1)
                rate = stream.sample_rate
            samples = samples[:, :round(self.seconds * rate)].astype(np.float32)
            self._audio = {"waveform": torch.from_numpy(samples)[None], "sample_rate": rate}
        return self._audio

    def __getitem__(self, key: str):
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


class _Node:
    """A legacy-style node (as VideoHelperSuite's are): required ``INPUTS``, ``run`` returns the outputs."""

    CATEGORY = "tests"
    FUNCTION = "run"
    INPUTS: dict = {}

    @classmethod
    def INPUT_TYPES(cls) -> dict:
        return {"required": cls.INPUTS}


class LoadVideo(_Node):
    RETURN_TYPES = ("IMAGE", "INT", "AUDIO", "VHS_VIDEOINFO")
    RETURN_NAMES = ("IMAGE", "frame_count", "audio", "video_info")
    INPUTS = {"video": ("STRING", {"default": ""}), "frame_load_cap": ("INT", {"default": 0, "min": 0, "max": 10**6})}

    def run(self, video: str, frame_load_cap: int):
        path = _input_path(video)
        with av.open(path) as container:
            stream = container.streams.video[0]
            fps, total = float(stream.average_rate), stream.frames
            frames = []
            for frame in container.decode(stream):
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) == frame_load_cap:
                    break
        images = torch.from_numpy(np.stack(frames)).float() / 255
        count, height, width = images.shape[:3]
        info = {"source_fps": fps, "source_frame_count": total, "source_duration": total / fps,
                "source_width": width, "source_height": height, "loaded_fps": fps, "loaded_frame_count": count,
                "loaded_duration": count / fps, "loaded_width": width, "loaded_height": height}
        return images, count, LazyAudio(path, count / fps), info


class VideoInfo(_Node):
    RETURN_TYPES = ("FLOAT", "INT")
    RETURN_NAMES = ("loaded_fps", "loaded_frame_count")
    INPUTS = {"video_info": ("VHS_VIDEOINFO",)}

    def run(self, video_info: dict):
        return video_info["loaded_fps"], video_info["loaded_frame_count"]


class Tone(_Node):
    RETURN_TYPES = ("AUDIO",)
    INPUTS = {"seconds": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 60.0, "step": 0.01}),
              "sample_rate": ("INT", {"default": 44100, "min": 8000, "max": 96000}),
              "channels": ("INT", {"default": 2, "min": 1, "max": 8})}

    def run(self, seconds: float, sample_rate: int, channels: int):
        t = torch.arange(round(seconds * sample_rate)) / sample_rate
        wave = 0.5 * torch.sin(2 * torch.pi * 440.0 * t)
        return ({"waveform": wave.repeat(1, channels, 1), "sample_rate": sample_rate},)


class EmptyVideo(_Node):
    RETURN_TYPES = ("VIDEO",)

    def run(self):
        return (InputImpl.VideoFromComponents(VideoComponents(torch.zeros(0, 64, 64, 3), Fraction(25))),)


class VideoFromBytes(_Node):
    RETURN_TYPES = ("VIDEO",)
    INPUTS = {"video": ("STRING", {"default": ""})}

    def run(self, video: str):
        with open(_input_path(video), "rb") as file:
            return (InputImpl.VideoFromFile(io.BytesIO(file.read())),)


NODE_CLASS_MAPPINGS = {"VHSLike_LoadVideo": LoadVideo, "VHSLike_VideoInfo": VideoInfo, "LPKTest_Tone": Tone,
                       "LPKTest_EmptyVideo": EmptyVideo, "LPKTest_VideoFromBytes": VideoFromBytes}
