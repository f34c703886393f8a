"""What the ``LPK_MOTION``, ``LPK_KEYPOINTS`` and ``LPK_CROP`` sockets carry between nodes."""
from __future__ import annotations

from dataclasses import dataclass, replace

from torch import Tensor

from ..liveportrait_core.faces import CropTrack
from ..liveportrait_core.motion.anchors import with_anchor
from ..liveportrait_core.motion.retargeting import final_keypoints
from ..liveportrait_core.motion.sequence import MotionSequence
from ..liveportrait_core.pipeline.engine import SourceState


@dataclass(frozen=True)
class FaceCrop:
    """Where a face was cut from each of B frames of ``height`` x ``width`` (transforms and landmarks, no pixels)."""

    track: CropTrack
    height: int
    width: int

    def __len__(self) -> int:
        return len(self.track)

    @property
    def has_landmarks(self) -> bool:
        """Whether the crop knows the face's landmarks, hence its eye / lip ratios (box and centre crops do not)."""
        return bool(self.track.landmarks[self.track.found].isfinite().any())

    def check_frames(self, node: str, input_name: str, count: int) -> None:
        """Raise unless this crop describes exactly ``count`` frames (it is only valid for the frames it was made from)."""
        if len(self) != count:
            raise ValueError(f"{node}: input 'crop' describes {len(self)} frame(s) but input '{input_name}' holds "
                             f"{count}; connect the crop made from these very frames")


@dataclass(frozen=True)
class DrivingMotion:
    """A driving motion sequence, whether it is a single driving image (each frame its own anchor), and the
    frame relative motion is measured against when it is not frame 0 (set by Anchor Motion)."""

    sequence: MotionSequence  # on the compute device
    from_image: bool = False
    anchor: MotionSequence | None = None  # one frame; None: the first frame

    def with_sequence(self, sequence: MotionSequence) -> "DrivingMotion":
        """A copy with other frames (same image flag and anchor)."""
        return replace(self, sequence=sequence)

    def anchored(self) -> tuple[MotionSequence, int]:
        """The frames to drive with anchor 0, and how many leading output frames to drop (1 when the anchor is put in front)."""
        if self.anchor is None:
            return self.sequence, 0
        return with_anchor(self.sequence, self.anchor), 1


@dataclass(frozen=True)
class DrivenKeypoints:
    """Keypoints that drive one source, split where the separate Stitch node comes in.

    The final keypoints are :func:`~liveportrait_core.motion.retargeting.final_keypoints` of ``x``, stitched or
    not: the tail of :func:`~liveportrait_core.motion.retargeting.animate_keypoints`.
    """

    source: SourceState
    x: Tensor  # (N, 21, 3) driven (and retargeted) keypoints, stitched once ``stitched`` is set
    after_stitching: Tensor | None  # (1, 21, 3) lip-normalisation delta, added after stitching
    multiplier: float
    fps: float
    stitched: bool = False

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def with_stitched(self, x: Tensor) -> "DrivenKeypoints":
        """A copy holding stitched keypoints ``x``."""
        return replace(self, x=x, stitched=True)

    def final(self) -> Tensor:
        """(N, 21, 3) keypoints for the warping network."""
        return final_keypoints(self.source.x_s, self.x, self.multiplier, self.after_stitching)
