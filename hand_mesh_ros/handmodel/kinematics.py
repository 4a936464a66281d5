"""Forward kinematics of MANO's tree and its keypoint Jacobian, shared by the model and both fits (numpy).

MANO's joints 1-15 are ``1 + 3 * finger + level`` with fingers in MANO order (index, middle, pinky, ring,
thumb) and levels 0-2 (MCP, PIP, DIP; thumb CMC, MCP, IP). Keypoints use an internal order here: wrist, then
per finger (MANO order) its three joint keypoints and its tip; ``INTERNAL_TO_MP`` maps it to MediaPipe's order.
Local rotations are (B, 16, 3, 3) arrays in MANO order (root first); positions in metres.

Written for few numpy calls (a call on a tiny array costs about a microsecond, far more than its
arithmetic): all 16 joints at once through constant index arrays and 0/1 matrices built at import.
"""

from __future__ import annotations

import numpy as np

from .constants import KEYPOINT_BONE

MP_FINGER_BASE = (5, 9, 17, 13, 1)  # MediaPipe index of the first keypoint of each MANO-order finger
INTERNAL_TO_MP = np.array([0] + [b + k for b in MP_FINGER_BASE for k in range(4)], dtype=np.int64)
MP_TO_INTERNAL = np.argsort(INTERNAL_TO_MP)
# carrying level of each of a finger's 4 keypoints (the tip is carried by the last joint)
CARRIER_LEVEL = np.array([0, 1, 2, 2])
# joint level l of a finger moves keypoint k of that finger
FINGER_MASK = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]], dtype=np.float64)

assert all(
    KEYPOINT_BONE[INTERNAL_TO_MP[1 + 4 * f + k]] == 1 + 3 * f + CARRIER_LEVEL[k] for f in range(5) for k in range(4)
)

# MANO joint j = 1 + 3 f + l (finger f, level l); its parent joint and the joint carrying each keypoint
PARENT = np.array([0] + [0 if lvl == 0 else 3 * f + lvl for f in range(5) for lvl in range(3)])
CARRIER = np.array([0] + [1 + 3 * f + int(CARRIER_LEVEL[k]) for f in range(5) for k in range(4)])
# rotations used by the forward pass: parents of joints 1-15, then the carriers of the 21 keypoints
_GATHER = np.concatenate([PARENT[1:], CARRIER])
# joint j (j = 0-15) and keypoint k (rows 16 + k) = root joint + the sum of the posed offsets (rows of
# _GATHER's product) along the chain: a constant 0/1 matrix
_CHAIN_SUM = np.zeros((37, 36))
for _j in range(1, 16):
    _a = _j
    while _a:
        _CHAIN_SUM[_j, _a - 1] = 1.0
        _a = int(PARENT[_a])
for _k in range(21):
    _CHAIN_SUM[16 + _k] = _CHAIN_SUM[CARRIER[_k]]
    _CHAIN_SUM[16 + _k, 15 + _k] = 1.0
# ANCESTRY[k, j] = 1 when joint j moves keypoint k (internal order): the root moves all, a finger joint the
# keypoints its finger carries at its level or below
ANCESTRY = np.zeros((21, 16))
ANCESTRY[:, 0] = 1.0
for _f in range(5):
    ANCESTRY[1 + 4 * _f : 5 + 4 * _f, 1 + 3 * _f : 4 + 3 * _f] = FINGER_MASK
# the same against the transposed Jacobian: rows (joint j, axis c), columns (coordinate x, keypoint k)
ANCESTRY_T = np.ascontiguousarray(np.broadcast_to(ANCESTRY.T[:, None, None, :], (16, 3, 3, 21)).reshape(48, 63))
# translation rows of the transposed Jacobian
TRANSL_T = np.repeat(np.eye(3), 21, axis=1)  # (3, 63)
# _EPS_E[y, 3 x + m] = Levi-Civita eps[x, y, m]: ((A e_c) x l)_x = sum_m (A^T _EPS_E)[c, 3 x + m] l_m
_EPS_E = np.zeros((3, 9))
for _x, _y, _m, _sgn in ((0, 1, 2, 1), (1, 2, 0, 1), (2, 0, 1, 1), (0, 2, 1, -1), (2, 1, 0, -1), (1, 0, 2, -1)):
    _EPS_E[_y, 3 * _x + _m] = _sgn


class Rest:
    """Shape-dependent rest quantities of B hands (canonical frame, metres).

    j0: (B, 3) rest root joint; vecs: (B, 36, 3, 1) in each joint's rest frame offset of joints 1-15 from
    their parents, then of the 21 keypoints (internal order) from their carrying joints; palm: (B, 5, 3) palm
    keypoints relative to the root joint (wrist, index, middle, ring, pinky MCP); offsets / child_rel:
    (B, 5, 3, 3) per finger and level, joint offset from its parent and the level's child keypoint from the
    joint (the closed-form start), both stacked as swing_vecs (B, 5, 3, 3, 2).
    """

    __slots__ = ("child_rel", "j0", "offsets", "palm", "swing_vecs", "vecs")

    def __init__(self, joints: np.ndarray, kp_internal: np.ndarray) -> None:
        """From rest joints (B, 16, 3) (MANO order) and rest keypoints (B, 21, 3) (internal order)."""
        b = joints.shape[0]
        self.j0 = joints[:, 0]
        rel = np.concatenate([joints[:, 1:] - joints[:, PARENT[1:]], kp_internal - joints[:, CARRIER]], 1)
        self.vecs = np.ascontiguousarray(rel[..., None])
        self.offsets = rel[:, :15].reshape(b, 5, 3, 3)
        kp_fingers = rel[:, 16:].reshape(b, 5, 4, 3)
        mcp = self.offsets[:, :, 0] + kp_fingers[:, :, 0]
        self.palm = np.concatenate([rel[:, 15:16], mcp[:, [0, 1, 3, 2]]], axis=1)
        self.child_rel = np.concatenate(
            [self.offsets[:, :, 1:] + kp_fingers[:, :, 1:3], kp_fingers[:, :, 3:]], axis=2
        )
        self.swing_vecs = np.stack([self.offsets, self.child_rel], axis=-1)


def forward(rot: np.ndarray, transl: np.ndarray, rest: Rest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global rotations (B, 16, 3, 3), joint positions (B, 16, 3) and keypoints (B, 21, 3, internal order)
    of local rotations ``rot`` (B, 16, 3, 3) and translations (B, 3). A batch-1 ``rest`` serves any B."""
    b = rot.shape[0]
    a = np.empty((b, 16, 3, 3))
    a[:, 0] = rot[:, 0]
    af = a[:, 1:].reshape(b, 5, 3, 3, 3)  # views
    rf = rot[:, 1:].reshape(b, 5, 3, 3, 3)
    np.matmul(rot[:, :1], rf[:, :, 0], out=af[:, :, 0])
    np.matmul(af[:, :, 0], rf[:, :, 1], out=af[:, :, 1])
    np.matmul(af[:, :, 1], rf[:, :, 2], out=af[:, :, 2])
    d = a[:, _GATHER] @ rest.vecs  # (B, 36, 3, 1): posed bone offsets, then keypoint offsets
    pos = _CHAIN_SUM @ d[..., 0] + (rest.j0 + transl)[:, None]  # (B, 37, 3): joints, then keypoints
    return a, pos[:, :16], pos[:, 16:]


def keypoint_jacobian_t(a: np.ndarray, o: np.ndarray, kp: np.ndarray) -> np.ndarray:
    """(B, 51, 63) transposed Jacobian of the keypoints (internal order) at a pose from :func:`forward`.

    Rows: the 16 joints' rotation increments (R_j <- R_j exp(delta_j), 3 each, MANO order), then the
    translation; columns coordinate-major (x of the 21 keypoints, then y, then z). d kp / d delta_j =
    (A_j e_c) x (kp - o_j) for every joint that carries kp or is an ancestor of its carrier: per joint one small
    matmul gives all its rows, ((A_j e_c) x l)_x = (A_j^T _EPS_E)[c, (x, m)] l_m.
    """
    b = a.shape[0]
    jt = np.empty((b, 51, 63))
    levers = (a.swapaxes(2, 3) @ _EPS_E).reshape(b, 16, 9, 3)
    np.matmul(levers, kp.swapaxes(1, 2)[:, None] - o[..., None], out=jt[:, :48].reshape(b, 16, 9, 21))
    jt[:, :48] *= ANCESTRY_T
    jt[:, 48:51] = TRANSL_T
    return jt
