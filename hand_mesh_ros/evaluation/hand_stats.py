"""What can be said about predicted hands without ground truth: counts, wrist depth, confidence.

Works on any objects with the HandArray/Hand field names (rclpy messages from the demo, ``rosbags`` objects
from a bag): the input is one sequence of Hand messages per answered frame, in time order. Used by the
demo's summary and by ``bag_report`` on bags without ``/ground_truth/hands`` (e.g. a video run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HANDEDNESS_NAMES = {0: "unknown", 1: "left", 2: "right"}
STATE_HELD = 1  # Hand.STATE_HELD


@dataclass(frozen=True)
class HandStats:
    """Figures over the frames' predicted hands; the float figures are None when there is no hand."""

    frames: int
    frames_with_hands: int
    hands: int
    hands_per_frame_mean: float
    frames_by_hand_count: dict[str, int] = field(default_factory=dict)  # "0", "1", "2" -> frames
    hands_by_side: dict[str, int] = field(default_factory=dict)  # "left", "right", "unknown" -> hands
    held_hands: int = 0  # hands repeated from an earlier frame (low confidence)
    wrist_z_min_m: float | None = None
    wrist_z_median_m: float | None = None
    wrist_z_max_m: float | None = None
    confidence_median: float | None = None


def hand_stats(frames: Sequence[Sequence[Any]]) -> HandStats:
    """Statistics of the hands in ``frames`` (one sequence of Hand messages per answered frame)."""
    per_frame = Counter(len(hands) for hands in frames)
    sides: Counter[str] = Counter()
    wrist_z: list[float] = []
    confidence: list[float] = []
    held = 0
    for hands in frames:
        for hand in hands:
            sides[HANDEDNESS_NAMES.get(int(hand.handedness), "unknown")] += 1
            wrist_z.append(float(hand.joints[0].z))
            confidence.append(float(hand.confidence))
            held += int(hand.state) == STATE_HELD
    total = len(wrist_z)
    z = np.asarray(wrist_z, dtype=np.float64)
    return HandStats(
        frames=len(frames),
        frames_with_hands=sum(len(hands) > 0 for hands in frames),
        hands=total,
        hands_per_frame_mean=total / len(frames) if frames else 0.0,
        frames_by_hand_count={str(k): per_frame[k] for k in sorted(per_frame)},
        hands_by_side={k: sides[k] for k in ("left", "right", "unknown") if sides[k]},
        held_hands=held,
        wrist_z_min_m=float(z.min()) if total else None,
        wrist_z_median_m=float(np.median(z)) if total else None,
        wrist_z_max_m=float(z.max()) if total else None,
        confidence_median=float(np.median(confidence)) if total else None,
    )
