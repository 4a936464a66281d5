"""Finger-major forward kinematics shared by the model and the fitter (few, batched torch ops).

MANO's joints 1-15 are ``1 + 3 * finger + level`` with fingers in MANO order (index, middle, pinky, ring,
thumb) and levels 0-2 (MCP, PIP, DIP; thumb CMC, MCP, IP), so joint tensors reshape to (B, 5, 3, ...).
Keypoints use an internal order: wrist, then per finger (MANO order) its three joint keypoints and its tip;
``INTERNAL_TO_MP`` maps it to MediaPipe's order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from .constants import KEYPOINT_BONE

MP_FINGER_BASE = (5, 9, 17, 13, 1)  # MediaPipe index of the first keypoint of each MANO-order finger
INTERNAL_TO_MP = np.array([0] + [b + k for b in MP_FINGER_BASE for k in range(4)], dtype=np.int64)
MP_TO_INTERNAL = np.argsort(INTERNAL_TO_MP)
# carrying level of each of a finger's 4 keypoints (the tip is carried by the last joint)
CARRIER_LEVEL = (0, 1, 2, 2)
# joint level l of a finger moves keypoint k of that finger
FINGER_MASK = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=np.float64)

assert all(
    KEYPOINT_BONE[INTERNAL_TO_MP[1 + 4 * f + k]] == 1 + 3 * f + CARRIER_LEVEL[k]
    for f in range(5)
    for k in range(4)
)


class Rest(NamedTuple):
    """Shape-dependent rest quantities (B hands), metres, canonical frame."""

    j0: torch.Tensor  # (B, 3) wrist joint
    offsets: torch.Tensor  # (B, 5, 3, 3) joint minus parent joint, per finger and level
    kp_wrist: torch.Tensor  # (B, 3) wrist keypoint minus wrist joint
    kp_fingers: torch.Tensor  # (B, 5, 4, 3) keypoint minus carrying joint


class Pose(NamedTuple):
    """World pose of the skeleton (B hands)."""

    a0: torch.Tensor  # (B, 3, 3) root global rotation
    o0: torch.Tensor  # (B, 3) wrist joint position
    af: torch.Tensor  # (B, 5, 3, 3, 3) global rotations per finger and level
    of: torch.Tensor  # (B, 5, 3, 3) joint positions per finger and level
    kp: torch.Tensor  # (B, 21, 3) keypoints, internal order


def make_rest(joints: torch.Tensor, keypoints_mp: torch.Tensor) -> Rest:
    """Rest from MANO-order joints (B, 16, 3) and MediaPipe-order keypoints (B, 21, 3)."""
    b = joints.shape[0]
    j0 = joints[:, 0]
    jf = joints[:, 1:].reshape(b, 5, 3, 3)
    parents = torch.cat([j0[:, None, None].expand(b, 5, 1, 3), jf[:, :, :2]], dim=2)
    kpi = keypoints_mp[:, torch.as_tensor(INTERNAL_TO_MP, device=joints.device)]
    carrier = torch.cat([jf, jf[:, :, 2:]], dim=2)
    return Rest(j0, jf - parents, kpi[:, 0] - j0, kpi[:, 1:].reshape(b, 5, 4, 3) - carrier)


def forward_kinematics(r0: torch.Tensor, rf: torch.Tensor, transl: torch.Tensor, rest: Rest) -> Pose:
    """Root rotation (B, 3, 3), finger local rotations (B, 5, 3, 3, 3), transl (B, 3) -> :class:`Pose`."""
    b = r0.shape[0]
    r0e = r0[:, None]
    a1 = r0e @ rf[:, :, 0]
    a2 = a1 @ rf[:, :, 1]
    a3 = a2 @ rf[:, :, 2]
    o0 = rest.j0 + transl
    off = rest.offsets[..., None]
    o1 = o0[:, None] + (r0e @ off[:, :, 0])[..., 0]
    o2 = o1 + (a1 @ off[:, :, 1])[..., 0]
    o3 = o2 + (a2 @ off[:, :, 2])[..., 0]
    af = torch.stack([a1, a2, a3], dim=2)
    of = torch.stack([o1, o2, o3], dim=2)
    oc = torch.cat([of, o3[:, :, None]], dim=2)  # carriers of the 4 keypoints: levels 0, 1, 2, 2
    ac = torch.cat([af, a3[:, :, None]], dim=2)
    kf = oc + (ac @ rest.kp_fingers[..., None])[..., 0]
    kw = o0 + (r0 @ rest.kp_wrist[..., None])[..., 0]
    kp = torch.cat([kw[:, None], kf.reshape(b, 20, 3)], dim=1)
    return Pose(r0, o0, af, of, kp)
