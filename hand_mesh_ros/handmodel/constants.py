"""Joint orders and names shared by every hand model (MANO and the open hand).

MANO's 16 kinematic joints, in MANO's own order::

    0 wrist, 1-3 index (MCP, PIP, DIP), 4-6 middle, 7-9 pinky, 10-12 ring, 13-15 thumb (CMC, MCP, IP)

The 21 keypoints follow MediaPipe's order::

    0 wrist; 1-4 thumb CMC, MCP, IP, TIP; 5-8 index MCP, PIP, DIP, TIP; 9-12 middle; 13-16 ring; 17-20 pinky

Keypoint k is carried by MANO joint ``KEYPOINT_BONE[k]``: a joint keypoint by its own joint, a fingertip by
the finger's last joint (DIP, or IP for the thumb).
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 16
NUM_KEYPOINTS = 21
NUM_POSE = 3 * NUM_JOINTS  # 48: global orientation + 15 joints, axis-angle
NUM_HAND_POSE = 3 * (NUM_JOINTS - 1)  # 45
NUM_SHAPE = 10

MANO_JOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "index1",
    "index2",
    "index3",
    "middle1",
    "middle2",
    "middle3",
    "pinky1",
    "pinky2",
    "pinky3",
    "ring1",
    "ring2",
    "ring3",
    "thumb1",
    "thumb2",
    "thumb3",
)
MANO_PARENTS = np.array([-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14], dtype=np.int64)

KEYPOINT_NAMES: tuple[str, ...] = (
    "wrist",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
    "thumb_tip",
    "index_mcp",
    "index_pip",
    "index_dip",
    "index_tip",
    "middle_mcp",
    "middle_pip",
    "middle_dip",
    "middle_tip",
    "ring_mcp",
    "ring_pip",
    "ring_dip",
    "ring_tip",
    "pinky_mcp",
    "pinky_pip",
    "pinky_dip",
    "pinky_tip",
)

# MANO joint carrying each of the 21 keypoints.
KEYPOINT_BONE = np.array(
    [0, 13, 14, 15, 15, 1, 2, 3, 3, 4, 5, 6, 6, 10, 11, 12, 12, 7, 8, 9, 9], dtype=np.int64
)
# Keypoint index of each MANO joint (the joint keypoints; tips have no joint of their own).
JOINT_TO_KEYPOINT = np.array([0, 5, 6, 7, 9, 10, 11, 17, 18, 19, 13, 14, 15, 1, 2, 3], dtype=np.int64)
# Keypoint indices of the fingertips, in MediaPipe finger order (thumb, index, middle, ring, pinky).
TIP_KEYPOINTS = np.array([4, 8, 12, 16, 20], dtype=np.int64)
# The previous keypoint along each finger (the parent; -1 for the wrist): the TF tree and the skeleton drawn.
KEYPOINT_PARENTS = (-1, 0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19)
# The next keypoint along the chain (the child) of every keypoint; tips point back to their parent keypoint.
KEYPOINT_CHILD = np.array(
    [9, 2, 3, 4, 3, 6, 7, 8, 7, 10, 11, 12, 11, 14, 15, 16, 15, 18, 19, 20, 19], dtype=np.int64
)

# Default MANO fingertip vertex ids, MediaPipe finger order (thumb, index, middle, ring, pinky).
MANO_TIP_VERTICES = (744, 320, 443, 554, 671)

# Which anatomical joint each of the 15 non-root MANO joints is (used for limits and random poses).
JOINT_KIND: tuple[str, ...] = (
    "root",
    "mcp",
    "pip",
    "dip",
    "mcp",
    "pip",
    "dip",
    "mcp",
    "pip",
    "dip",
    "mcp",
    "pip",
    "dip",
    "thumb_cmc",
    "thumb_mcp",
    "thumb_ip",
)

SIDES = ("right", "left")


def check_side(side: str) -> str:
    """Return ``side`` if it is 'right' or 'left', else raise ``ValueError``."""
    if side not in SIDES:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    return side


def joint_depths() -> np.ndarray:
    """Depth of each MANO joint in the tree (wrist 0, first finger joints 1, ...)."""
    depth = np.zeros(NUM_JOINTS, dtype=np.int64)
    for j in range(1, NUM_JOINTS):
        depth[j] = depth[MANO_PARENTS[j]] + 1
    return depth


def ancestor_mask() -> np.ndarray:
    """(21, 16) bool: True where MANO joint j moves keypoint k (j carries k or is an ancestor of that)."""
    mask = np.zeros((NUM_KEYPOINTS, NUM_JOINTS), dtype=bool)
    for k in range(NUM_KEYPOINTS):
        j = int(KEYPOINT_BONE[k])
        while j >= 0:
            mask[k, j] = True
            j = int(MANO_PARENTS[j])
    return mask
