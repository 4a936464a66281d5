"""The hand frames a retargeting controller expects, from our published hands. No ROS, no dex-retargeting.

dex-retargeting (Qin et al., "AnyTeleop", RSS 2023; PyPI ``dex-retargeting``) takes the 21 hand keypoints
(MediaPipe order, metres) relative to the wrist keypoint, expressed in a *palm frame* and then turned by its
constant per-side "operator to MANO" rotation:

    keypoints_retarget = (joints - joints[0]) @ R_palm @ OPERATOR_TO_MANO[side]

where ``R_palm`` (camera <- palm, columns = axes) has x along the palm from the middle finger's knuckle (MCP) to
the wrist, y normal to the plane of wrist, index MCP and middle MCP, and z = x cross y pointing to the index
side. Its examples estimate ``R_palm`` from the keypoints of every frame, so it tilts a little as the fingers
flex (the knuckle keypoints move with them: up to 13 degrees on our rendered test motions). We use the hand
model's root orientation instead (``wrist_pose``: MANO's root frame of that side, camera <- root), turned by a
constant: ``R_palm = R_wrist @ palm_in_root[side]``, with ``palm_in_root`` the palm frame of the model's
keypoints at rest (:func:`~.retarget.model_palm_frames`), so the frame stays rigid to the wrist. That is the
exact transform a controller applies; for the left hand MANO's root axes are mirrored, which is why the recipe
"rotate by the wrist pose" alone reverses a left hand's fingers.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Side = Literal["right", "left"]

# dex-retargeting's constant rotations from its operator (palm) frame to the MANO convention its robot configs
# were written for (dex_retargeting/constants.py, 0.5.0).
OPERATOR_TO_MANO: dict[str, np.ndarray] = {
    "right": np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "left": np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
}
WRIST, INDEX_MCP, MIDDLE_MCP = 0, 5, 9


def _check_side(side: str) -> None:
    if side not in OPERATOR_TO_MANO:
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")


def check_joints(joints: np.ndarray) -> np.ndarray:
    """``joints`` as float (..., 21, 3); ValueError for another shape or a non-finite value."""
    j = np.asarray(joints, dtype=np.float64)
    if j.shape[-2:] != (21, 3):
        raise ValueError(f"joints must have shape (..., 21, 3) metres, got {j.shape}")
    if not np.all(np.isfinite(j)):
        raise ValueError("joints must be finite (NaN or inf found)")
    return j


def check_rotation(rotation: np.ndarray, name: str = "wrist_rotation") -> np.ndarray:
    """``rotation`` as a float (3, 3) array; ValueError unless it is a rotation matrix (orthonormal, det +1)."""
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape != (3, 3):
        raise ValueError(f"{name} must have shape (3, 3), got {r.shape}")
    if not (np.all(np.isfinite(r)) and np.allclose(r.T @ r, np.eye(3), atol=1e-4) and np.linalg.det(r) > 0):
        raise ValueError(f"{name} is not a rotation matrix (not orthonormal with determinant +1)")
    return r


def palm_frame(joints: np.ndarray) -> np.ndarray:
    """The palm frame (..., 3, 3) (columns x, y, z in the joints' frame) of (..., 21, 3) keypoints: x from the
    middle MCP to the wrist in the palm plane, y the normal of the plane through wrist, index MCP and middle MCP
    (least squares), z = x cross y on the index side. Raises ValueError for collinear palm keypoints."""
    j = check_joints(joints)
    palm = j[..., [WRIST, INDEX_MCP, MIDDLE_MCP], :]
    centred = palm - palm.mean(axis=-2, keepdims=True)
    normal = np.linalg.svd(centred)[2][..., 2, :]  # the direction of least spread
    x = palm[..., 0, :] - palm[..., 2, :]
    x = x - (x * normal).sum(-1, keepdims=True) * normal
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    if np.any(norm < 1e-9):
        raise ValueError("the palm keypoints (wrist, index MCP, middle MCP) are collinear")
    x = x / norm
    z = np.cross(x, normal)
    flip = np.where((z * (palm[..., 1, :] - palm[..., 2, :])).sum(-1, keepdims=True) < 0, -1.0, 1.0)
    return np.stack([x, normal * flip, z * flip], axis=-1)


def retargeting_keypoints(joints: np.ndarray, wrist_rotation: np.ndarray, side: str,
                          palm_in_root_frame: np.ndarray) -> np.ndarray:
    """The (21, 3) keypoints dex-retargeting's vector and DexPilot retargeters take for this ``side``: wrist-
    relative, in its palm frame, turned to its MANO convention (metres). ``joints`` (21, 3) and
    ``wrist_rotation`` (3, 3, camera <- model root) in the camera frame, as published."""
    _check_side(side)
    j = check_joints(joints)
    r = check_rotation(wrist_rotation)
    return (j - j[WRIST]) @ (r @ palm_in_root_frame) @ OPERATOR_TO_MANO[side]


def keypoints_from_palm_frame(joints: np.ndarray, side: str) -> np.ndarray:
    """The same (21, 3) keypoints with the palm frame estimated from the keypoints themselves, as
    dex-retargeting's examples do with MediaPipe landmarks (for comparisons; the product uses the wrist pose)."""
    _check_side(side)
    j = check_joints(joints)
    return (j - j[WRIST]) @ palm_frame(j) @ OPERATOR_TO_MANO[side]
