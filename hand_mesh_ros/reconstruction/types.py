"""Typed results of the reconstruction core. Metres and the camera optical frame unless stated."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..perception.types import Handedness, HandRegion


@dataclass(frozen=True, eq=False)
class ReconstructedHand:
    """One hand in camera space.

    joints (21, 3) m and joints_px (21, 2) px (their projection) in MediaPipe order; keypoints_px (21, 2) px:
    the landmark network's 2D keypoints the hand was fitted to; joint_confidences (21,) in [0, 1];
    joint_frames (21, 3, 3): rotation of each joint's TF frame in the camera frame (columns = axes: x along
    the bone, z out of the back of the hand), named ``frame_names``; wrist_position (3,) and
    wrist_rotation (3, 3): the model's root joint (MANO convention); pose (48,) axis-angle rad (3 global + 45);
    shape (10,); vertices (V, 3) float32; faces (F, 3) int32 (constant per model and side).
    held: True when this is the track's last confident result repeated (this frame was not confident, or the
    hand was not found), with that result's confidences. region: where the hand is looked for in the next
    frame (from this frame's landmarks).
    """

    track_id: int
    handedness: Handedness
    handedness_score: float
    confidence: float
    joint_confidences: np.ndarray
    held: bool
    joints: np.ndarray
    joints_px: np.ndarray
    keypoints_px: np.ndarray
    joint_frames: np.ndarray
    frame_names: tuple[str, ...]
    wrist_position: np.ndarray
    wrist_rotation: np.ndarray
    pose: np.ndarray
    shape: np.ndarray
    model_name: str
    vertices: np.ndarray
    faces: np.ndarray
    region: HandRegion
    palm_score: float | None  # the score of the palm that started (or re-attached) the track; None if none did


@dataclass(frozen=True)
class StageTimes:
    """Milliseconds spent per stage in one frame."""

    detection: float = 0.0
    landmarks: float = 0.0
    geometry: float = 0.0
    fit: float = 0.0
    total: float = 0.0


@dataclass(frozen=True, eq=False)
class FrameResult:
    """Everything the core found in one image: the hands to publish, the regions tracked into the next
    frame, whether the palm detector ran, stage timings, whether tracking restarted before this frame
    (``restarted``: the image stamps stepped back; ``camera_changed``: other intrinsics or image size than the
    previous frame's) and the hands found but not placed in space, by reason (``unplaced``: keys of
    :data:`UNPLACED_REASONS`; each such hand repeats its held result, if any)."""

    stamp_s: float
    hands: list[ReconstructedHand]
    tracked_regions: list[HandRegion]
    detector_ran: bool
    times: StageTimes = field(default_factory=StageTimes)
    restarted: bool = False
    camera_changed: bool = False
    unplaced: dict[str, int] = field(default_factory=dict)
    depth_used: bool = False  # a depth image came with this frame (whether or not it had values on the hands)
    depth_keypoints: int = 0  # keypoints (all hands) whose depth sample entered the fit this frame
    depth_rejected: int = 0  # hands whose depth samples were refused as implausible (see DEPTH_REJECTED_HELP)


# Why a hand's depth samples can be refused, and what to check.
DEPTH_REJECTED_HELP = ("the depth disagrees with the hand the image shows (it would make the hand's length more than "
                       "30 % off hand_length_m, or most samples lie off the fitted hand): check the depth's units "
                       "(16UC1 millimetres, 32FC1 metres: a hand at 0.5 m reads about 500 or 0.5) and that the depth "
                       "image is registered (aligned) to the colour image; the hand was placed without depth")


HAND_SIZE_SOURCES = {
    "configured": "the hand_length_m setting (no depth estimate yet, or hand_size_mode fixed)",
    "calibrating": "the median of the depth frames' estimates so far (not locked yet: hands are still placed with "
                   "hand_length_m)",
    "calibrated": "locked from depth frames whose estimates agreed; kept when depth goes away",
}


@dataclass(frozen=True)
class HandSize:
    """The hand length the reconstruction places one side's hands with: ``length_m`` (wrist crease to middle
    fingertip, metres), ``source`` (a key of :data:`HAND_SIZE_SOURCES`) and ``samples`` (depth frames that
    estimated it)."""

    side: str
    length_m: float
    source: str
    samples: int


# Why a hand found in the image was not placed in space.
UNPLACED_REASONS = {
    "outside_lens_model": "fewer than 3 palm keypoints lie where the lens model can be undistorted (the image "
                          "border of a strong fisheye)",
    "degenerate_keypoints": "the landmarks have no extent to fit the hand model to",
}
