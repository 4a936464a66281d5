"""Teleoperation: our hands in the frames a retargeting controller expects, and robot hands driven by
dex-retargeting (optional dependency). No ROS; the ROS node is ``ros/retargeting_node.py``."""

from .frames import OPERATOR_TO_MANO, keypoints_from_palm_frame, palm_frame, retargeting_keypoints
from .retarget import (
    ROBOTS,
    SKIP_REASONS,
    HandRetargeter,
    RetargetStep,
    RobotCommand,
    TeleopHand,
    TeleopUnavailableError,
    config_path,
    model_palm_frames,
)

__all__ = [
    "OPERATOR_TO_MANO",
    "ROBOTS",
    "SKIP_REASONS",
    "HandRetargeter",
    "RetargetStep",
    "RobotCommand",
    "TeleopHand",
    "TeleopUnavailableError",
    "config_path",
    "keypoints_from_palm_frame",
    "model_palm_frames",
    "palm_frame",
    "retargeting_keypoints",
]
