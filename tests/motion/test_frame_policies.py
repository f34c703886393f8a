"""Frame-count policies as Paste Back uses them: pairing rendered and original frames of different counts."""
from __future__ import annotations

import pytest

from liveportrait_core.motion.frame_policy import POLICIES, pair_frames


@pytest.mark.parametrize("policy, short", [
    ("shortest", [0, 1, 2]),
    ("loop", [0, 1, 2, 0, 1, 2, 0]),
    ("ping-pong", [0, 1, 2, 1, 0, 1, 2]),
    ("hold last", [0, 1, 2, 2, 2, 2, 2]),
])
def test_the_shorter_side_follows_the_policy(policy, short):
    assert pair_frames(3, 7, policy) == (short, list(range(len(short))))
    assert pair_frames(7, 3, policy) == (list(range(len(short))), short)


@pytest.mark.parametrize("policy", POLICIES)
def test_one_frame_serves_all_and_equal_counts_pair_one_to_one(policy):
    assert pair_frames(1, 4, policy) == ([0, 0, 0, 0], [0, 1, 2, 3])
    assert pair_frames(5, 5, policy) == (list(range(5)), list(range(5)))


def test_ping_pong_of_two_frames_alternates():
    assert pair_frames(2, 5, "ping-pong")[0] == [0, 1, 0, 1, 0]


def test_no_frames_or_unknown_policy_is_an_error():
    with pytest.raises(ValueError, match="at least one frame"):
        pair_frames(0, 3, "loop")
    with pytest.raises(ValueError, match="not one of"):
        pair_frames(2, 3, "bounce")
