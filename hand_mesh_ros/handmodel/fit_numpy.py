"""The keypoint fit of ``fit.py`` in plain numpy (float64), for low per-call overhead on the CPU.

Same algorithm, parameters and conventions as :class:`fit.HandFitter` (which dispatches here on the CPU):
internal finger-major keypoint order, analytic Jacobian. Written for few numpy calls per fit (a call on a
tiny array costs about a microsecond, far more than its arithmetic): all 16 joints are handled at once
through constant index arrays and masks built at import, and the parameter vector is ordered
[16 joint rotations (MANO order, root first), translation, shape] so no reordering is needed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .kinematics import FINGER_MASK

CARRIER_LEVEL = np.array([0, 1, 2, 2])

_EYE3 = np.eye(3)
_sum = np.add.reduce  # ufunc methods: far less call overhead than ndarray.sum / np.clip for tiny arrays
_max = np.maximum.reduce
_min = np.minimum.reduce

# MANO joint j = 1 + 3 f + l (finger f, level l); its parent joint and the joint carrying each keypoint
_PARENT = np.array([0] + [0 if lvl == 0 else 3 * f + lvl for f in range(5) for lvl in range(3)])
_CARRIER = np.array([0] + [1 + 3 * f + int(CARRIER_LEVEL[k]) for f in range(5) for k in range(4)])
# rotations used by the forward pass: parents of joints 1-15, then the carriers of the 21 keypoints
_GATHER = np.concatenate([_PARENT[1:], _CARRIER])
# _MASK[k, j] = 1 when joint j moves keypoint k (internal order): the root moves all, a finger joint the
# keypoints its finger carries at its level or below
_MASK = np.zeros((21, 16))
_MASK[:, 0] = 1.0
for _f in range(5):
    _MASK[1 + 4 * _f : 5 + 4 * _f, 1 + 3 * _f : 4 + 3 * _f] = FINGER_MASK
# the same against the transposed Jacobian: rows (joint j, axis c), columns (coordinate x, keypoint k)
_MASK_T = np.ascontiguousarray(np.broadcast_to(_MASK.T[:, None, None, :], (16, 3, 3, 21)).reshape(48, 63))
# translation rows of the transposed Jacobian
_TRANSL_T = np.repeat(np.eye(3), 21, axis=1)  # (3, 63)
# _EPS_E[y, 3 x + m] = Levi-Civita eps[x, y, m]: ((A e_c) x l)_x = sum_m (A^T _EPS_E)[c, 3 x + m] l_m
_EPS_E = np.zeros((3, 9))
for _x, _y, _m, _sgn in (
    (0, 1, 2, 1),
    (1, 2, 0, 1),
    (2, 0, 1, 1),
    (0, 2, 1, -1),
    (2, 1, 0, -1),
    (1, 0, 2, -1),
):
    _EPS_E[_y, 3 * _x + _m] = _sgn
# joint j (j = 0-15) and keypoint k (rows 16 + k) = root joint + the sum of the posed offsets (rows of
# _GATHER's product) along the chain: a constant 0/1 matrix
_CHAIN_SUM = np.zeros((37, 36))
for _j in range(1, 16):
    _a = _j
    while _a:
        _CHAIN_SUM[_j, _a - 1] = 1.0
        _a = int(_PARENT[_a])
for _k in range(21):
    _CHAIN_SUM[16 + _k] = _CHAIN_SUM[_CARRIER[_k]]
    _CHAIN_SUM[16 + _k, 15 + _k] = 1.0
_PALM = np.array([0, 1, 5, 13, 9])  # wrist, index, middle, ring, pinky MCP (internal order)

# skew(w) = (w @ _SKEW_T).reshape(3, 3): one matmul instead of seven element writes
_SKEW = np.zeros((9, 3))
for _i, _j, _k, _sgn in (
    (0, 1, 2, -1),
    (0, 2, 1, 1),
    (1, 0, 2, 1),
    (1, 2, 0, -1),
    (2, 0, 1, -1),
    (2, 1, 0, 1),
):
    _SKEW[3 * _i + _j, _k] = _sgn
_SKEW_T = np.ascontiguousarray(_SKEW.T)
# R (flattened) of a unit quaternion (w, x, y, z) = vec(q q^T) @ _QUAT_TO_R
_QUAT_TO_R = np.zeros((16, 9))
for _r, _terms in enumerate(
    (
        ((0, 0, 1), (1, 1, 1), (2, 2, -1), (3, 3, -1)),  # R00 = w2 + x2 - y2 - z2
        ((1, 2, 2), (0, 3, -2)),  # R01 = 2 (xy - wz)
        ((1, 3, 2), (0, 2, 2)),  # R02 = 2 (xz + wy)
        ((1, 2, 2), (0, 3, 2)),  # R10 = 2 (xy + wz)
        ((0, 0, 1), (1, 1, -1), (2, 2, 1), (3, 3, -1)),  # R11 = w2 - x2 + y2 - z2
        ((2, 3, 2), (0, 1, -2)),  # R12 = 2 (yz - wx)
        ((1, 3, 2), (0, 2, -2)),  # R20 = 2 (xz - wy)
        ((2, 3, 2), (0, 1, 2)),  # R21 = 2 (yz + wx)
        ((0, 0, 1), (1, 1, -1), (2, 2, -1), (3, 3, 1)),  # R22 = w2 - x2 - y2 + z2
    )
):
    for _a, _b, _c in _terms:
        _QUAT_TO_R[4 * _a + _b, _r] += _c
# [skew(u); u^T] flattened (4 x 3 rows) = u @ _SKEW_DOT_T: cross and dot product with one matmul
_SKEW_DOT_T = np.ascontiguousarray(np.concatenate([_SKEW, np.eye(3)]).T)
# (half the vee of R - R^T, half the trace) of a flattened 3x3 matrix as one matmul
_HALF_VEE_TRACE = np.zeros((9, 4))
_HALF_VEE_TRACE[[7, 2, 3], [0, 1, 2]] = 0.5
_HALF_VEE_TRACE[[5, 6, 1], [0, 1, 2]] = -0.5
_HALF_VEE_TRACE[[0, 4, 8], 3] = 0.5


def skew(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) cross-product matrices."""
    return (v @ _SKEW_T).reshape(*v.shape[:-1], 3, 3)


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (cheaper than np.cross for small arrays)."""
    return (skew(u) @ v[..., None])[..., 0]


def rodrigues(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices, through the unit quaternion.

    q = (cos h, sin(h) / h * aa / 2) with h = |aa| / 2 (exact down to aa = 0); R is quadratic in q, so
    R = vec(q q^T) @ _QUAT_TO_R, one matmul.
    """
    h = 0.5 * np.sqrt(_sum(aa * aa, -1))
    h = np.maximum(h, 1e-150, out=h)
    q = np.empty((*aa.shape[:-1], 4))
    np.cos(h, out=q[..., 0])
    np.multiply((0.5 * np.sin(h) / h)[..., None], aa, out=q[..., 1:])
    qq = q[..., :, None] * q[..., None, :]
    return (qq.reshape(*aa.shape[:-1], 16) @ _QUAT_TO_R).reshape(*aa.shape, 3)


def log_small(r: np.ndarray) -> np.ndarray:
    """Axis-angle of rotations (..., 3, 3) well below pi."""
    vt = r.reshape(*r.shape[:-2], 9) @ _HALF_VEE_TRACE
    hv = vt[..., :3]  # sin(angle) * axis
    sin = np.sqrt(_sum(hv * hv, -1))
    angle = np.arctan2(sin, vt[..., 3] - 0.5)
    return hv * (angle / np.maximum(sin, 1e-300))[..., None]


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotation turning direction u towards v (see ``rotations.rotation_between``).

    With unit u, v, w = u x v and c = u . v: R = c I + [w]x + w w^T / (1 + c).
    """
    wc = (u @ _SKEW_DOT_T).reshape(*u.shape[:-1], 4, 3) @ v[..., None]  # (..., 4, 1): u x v, u . v
    wc /= np.sqrt(np.maximum(_sum(u * u, -1) * _sum(v * v, -1), 1e-24))[..., None, None]
    w = wc[..., :3, 0]
    c = wc[..., 3:, :]  # (..., 1, 1)
    outer = w[..., :, None] * (w[..., None, :] / np.maximum(1.0 + c, 1e-3))
    return outer + skew(w) + c * _EYE3


class NumpyRest:
    """Shape-dependent rest quantities (see ``kinematics.Rest``), numpy.

    j0: (B, 3) rest root joint; vecs: (B, 36, 3, 1) in each joint's rest frame offset of joints 1-15 from
    their parents, then of the 21 keypoints (internal order) from their carrying joints; palm: (B, 5, 3) palm
    keypoints relative to the root joint (Kabsch); offsets / child_rel: (B, 5, 3, 3) per finger and level,
    joint offset from its parent and the level's child keypoint from the joint (the closed-form start), and
    both stacked as swing_vecs (B, 5, 3, 3, 2).
    """

    __slots__ = ("child_rel", "j0", "offsets", "palm", "swing_vecs", "vecs")

    def __init__(self, joints: np.ndarray, kp_internal: np.ndarray) -> None:
        b = joints.shape[0]
        self.j0 = joints[:, 0]
        rel = np.concatenate([joints[:, 1:] - joints[:, _PARENT[1:]], kp_internal - joints[:, _CARRIER]], 1)
        self.vecs = np.ascontiguousarray(rel[..., None])
        self.offsets = rel[:, :15].reshape(b, 5, 3, 3)
        kp_fingers = rel[:, 16:].reshape(b, 5, 4, 3)
        mcp = self.offsets[:, :, 0] + kp_fingers[:, :, 0]
        self.palm = np.concatenate([rel[:, 15:16], mcp[:, [0, 1, 3, 2]]], axis=1)
        # child keypoint of each level relative to that level's joint (rest pose)
        self.child_rel = np.concatenate(
            [self.offsets[:, :, 1:] + kp_fingers[:, :, 1:3], kp_fingers[:, :, 3:]], axis=2
        )
        self.swing_vecs = np.stack([self.offsets, self.child_rel], axis=-1)  # (B, 5, 3, 3, 2)


def forward(
    rot: np.ndarray, transl: np.ndarray, rest: NumpyRest
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Global rotations (B, 16, 3, 3), joint positions (B, 16, 3) and keypoints (B, 21, 3, internal order)
    of local rotations ``rot`` (B, 16, 3, 3), MANO order."""
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


class ShapeTerms:
    """What a shape-fitting LM step needs: shape derivatives of joints and keypoints, current betas."""

    def __init__(self, j_dirs: np.ndarray, kp_dirs: np.ndarray, betas: np.ndarray, prior_w2: float) -> None:
        s = j_dirs.shape[2]
        self.dj0 = j_dirs[0]  # (3, S)
        self.djf = j_dirs[1:].reshape(5, 3, 3, s)
        parents = np.concatenate([np.broadcast_to(self.dj0, (5, 1, 3, s)), self.djf[:, :2]], axis=1)
        self.doff = self.djf - parents  # (5, 3, 3, S)
        self.dkw = kp_dirs[0] - self.dj0  # wrist keypoint relative to the wrist joint
        self.dkf = kp_dirs[1:].reshape(5, 4, 3, s) - self.djf[:, CARRIER_LEVEL]
        self.betas = betas
        self.prior_w2 = prior_w2

    def jacobian(self, a: np.ndarray) -> np.ndarray:
        """(B, 21, 3, S) d keypoints (internal order) / d betas at fixed global rotations ``a`` (B, 16, 3, 3)."""
        b = a.shape[0]
        s = self.dj0.shape[1]
        a0 = a[:, 0]
        af = a[:, 1:].reshape(b, 5, 3, 3, 3)
        a_par = np.concatenate([np.broadcast_to(a0[:, None, None], (b, 5, 1, 3, 3)), af[:, :, :2]], axis=2)
        d = self.dj0 + np.cumsum(a_par @ self.doff, axis=2)  # (B, 5, 3, 3, S): d joint position / d betas
        out = np.empty((b, 21, 3, s))
        out[:, 0] = self.dj0 + a0 @ self.dkw
        carrier_a = af[:, :, CARRIER_LEVEL]
        out[:, 1:] = (d[:, :, CARRIER_LEVEL] + carrier_a @ self.dkf).reshape(b, 20, 3, s)
        return out


class RowWeights(NamedTuple):
    """Keypoint weights laid out for :meth:`NumpyFitCore.lm_step` (built once per fit)."""

    keypoints: np.ndarray  # (B, 1, 21) against transposed residuals (B, 3, 21)
    rows: np.ndarray  # (B, 1, 63) against transposed Jacobian rows
    rot: np.ndarray  # (B, 48, 63) ancestry mask times the weights (rotation rows)
    transl: np.ndarray  # (B, 3, 63) the weighted translation rows


class NumpyFitCore:
    """numpy twin of ``HandFitter``'s start and LM step; constructed by HandFitter with its settings.

    Local rotations are (B, 16, 3, 3) arrays in MANO order (root first).
    """

    def __init__(
        self,
        frames: np.ndarray,
        prior_blocks: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
        inv_sigma: float,
        limit_w2: float,
        damping: float,
    ) -> None:
        self.frames = frames  # (15, 3, 3)
        self.frames_t = np.ascontiguousarray(frames.transpose(0, 2, 1))
        self.prior_blocks = prior_blocks
        self.lo, self.hi = lo[..., None], hi[..., None]  # (15, 3, 1)
        self.inv_sigma = inv_sigma
        self.limit_w2 = limit_w2
        self.damping = damping
        self.eye15_b = np.eye(15).reshape(15, 1, 15, 1)  # block-diagonal scatter over joints
        self.h_prior = (prior_blocks[:, :, None, :] * self.eye15_b).reshape(45, 45)

    def initialise(self, x: np.ndarray, w: np.ndarray, rest: NumpyRest) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form start (see ``HandFitter.initialise``): local rotations (B, 16, 3, 3), transl (B, 3)."""
        b = x.shape[0]
        p = rest.palm
        q = x[:, _PALM]
        wp = w[:, _PALM, None]
        wsum = _sum(wp, 1)
        pc = _sum(wp * p, 1) / wsum
        qc = _sum(wp * q, 1) / wsum
        cov = ((p - pc[:, None]) * wp).transpose(0, 2, 1) @ (q - qc[:, None])
        u, _, vt = np.linalg.svd(cov)
        ut = u.transpose(0, 2, 1)
        v = vt.transpose(0, 2, 1)
        rot = np.empty((b, 16, 3, 3))
        r0 = np.matmul(v, ut, out=rot[:, 0])
        v[..., 2] *= np.linalg.det(r0)[:, None]  # +-1: flip the last axis of a reflection
        np.matmul(v, ut, out=r0)
        o0 = qc - (r0 @ pc[..., None])[..., 0]
        transl = o0 - rest.j0
        # swings, level by level along the chains (see HandFitter.initialise)
        rots = rot[:, 1:].reshape(b, 5, 3, 3, 3)  # a view
        a_par = r0[:, None]
        o = o0[:, None]
        xf = x[:, 1:].reshape(b, 5, 4, 3)
        for level in range(3):
            moved = a_par @ rest.swing_vecs[:, :, level]  # (B, 5, 3, 2): joint offset, child keypoint
            o = o + moved[..., 0]
            a_j = rotation_between(moved[..., 1], xf[:, :, level + 1] - o) @ a_par
            np.matmul(a_par.transpose(0, 1, 3, 2), a_j, out=rots[:, :, level])
            a_par = a_j
        return rot, transl

    @staticmethod
    def row_weights(sw: np.ndarray) -> RowWeights:
        """Per-fit weights of the transposed Jacobian's columns from keypoint weights ``sw`` (B, 21)."""
        sw63 = np.concatenate((sw, sw, sw), axis=1)[:, None]  # (B, 1, 63): coordinate-major rows
        return RowWeights(sw[:, None], sw63, _MASK_T * sw63, _TRANSL_T * sw63)

    def lm_step(
        self,
        xt: np.ndarray,
        rw: RowWeights,
        rot: np.ndarray,
        transl: np.ndarray,
        rest: NumpyRest,
        shape: ShapeTerms | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """One damped Gauss-Newton step; also updates the shape (last output) when ``shape`` is given.

        ``xt``: (B, 3, 21) targets, transposed; ``rw``: :meth:`row_weights` of the keypoint weights.
        Parameters: 16 joint rotations (48, MANO order), translation (3), then the shape. The Jacobian is
        built transposed (parameters x residuals), residuals ordered coordinate-major (x, k): per joint j
        one small matmul gives all its rows, ((A_j e_c) x (kp_k - o_j))_x = (A_j^T _EPS_E)[c, (x, m)] l_m.
        """
        b = xt.shape[0]
        p = 51 if shape is None else 51 + shape.betas.shape[1]
        a, o, kp = forward(rot, transl, rest)
        kpt = np.ascontiguousarray(kp.transpose(0, 2, 1))  # (B, 3, 21)
        jt = np.empty((b, p, 63))
        c = (a.transpose(0, 1, 3, 2) @ _EPS_E).reshape(b, 16, 9, 3)
        np.matmul(c, kpt[:, None] - o[..., None], out=jt[:, :48].reshape(b, 16, 9, 21, copy=False))
        jt[:, :48] *= rw.rot  # ancestry mask and keypoint weights
        jt[:, 48:51] = rw.transl
        if shape is not None:
            jt[:, 51:] = shape.jacobian(a).transpose(0, 3, 2, 1).reshape(b, p - 51, 63) * rw.rows
        hess = jt @ jt.transpose(0, 2, 1)
        grad = jt @ ((kpt - xt) * rw.keypoints).reshape(b, 63, 1)  # (B, P, 1)
        # weak pose prior (constant block-diagonal Hessian) and soft limits on joints 1-15 (anatomical frames)
        theta = log_small(rot[:, 1:])  # (B, 15, 3)
        hess[:, 3:48, 3:48] += self.h_prior
        grad[:, 3:48, 0] += theta.reshape(b, 45) @ self.h_prior
        anat = self.frames_t @ theta[..., None]  # (B, 15, 3, 1)
        viol = anat - np.minimum(np.maximum(anat, self.lo), self.hi)
        if _max(viol, None) > 0.0 or _min(viol, None) < 0.0:  # usually no limit is active: skip the work
            hb = (self.frames * ((viol[..., 0] != 0) * self.limit_w2)[:, :, None, :]) @ self.frames_t
            hess[:, 3:48, 3:48] += (hb[:, :, :, None, :] * self.eye15_b).reshape(b, 45, 45)
            grad[:, 3:48] += (self.frames @ (self.limit_w2 * viol)).reshape(b, 45, 1)
        diag = hess.reshape(b, p * p)[:, :: p + 1]  # a view of the diagonals
        if shape is not None:
            diag[:, 51:] += shape.prior_w2
            grad[:, 51:, 0] += shape.prior_w2 * shape.betas
        diag *= 1.0 + 1e-3
        diag += self.damping
        step = np.linalg.solve(hess, grad)[..., 0]  # minus the step
        rot = rot @ rodrigues(-step[:, :48].reshape(b, 16, 3))
        betas = None if shape is None else shape.betas - step[:, 51:]
        return rot, transl - step[:, 48:51], betas


def log_rotation(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) of any rotations (..., 3, 3), angle in [0, pi] (handles angles near pi)."""
    vt = r.reshape(*r.shape[:-2], 9) @ _HALF_VEE_TRACE
    hv = vt[..., :3]
    cos = vt[..., 3] - 0.5
    sin = np.sqrt(_sum(hv * hv, -1))
    angle = np.arctan2(sin, cos)
    aa = hv * (angle / np.maximum(sin, 1e-300))[..., None]
    near_pi = cos < -0.999
    if _max(near_pi, None):
        rs = r[near_pi]
        sym = 0.5 * (rs + rs.transpose(0, 2, 1)) - cos[near_pi][:, None, None] * _EYE3
        col = np.argmax(np.diagonal(sym, axis1=1, axis2=2), axis=1)
        axis = sym[np.arange(len(rs)), :, col]
        axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
        sign = np.where((axis * hv[near_pi]).sum(1, keepdims=True) < 0, -1.0, 1.0)
        aa[near_pi] = axis * sign * angle[near_pi][:, None]
    return aa
