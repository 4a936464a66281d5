"""The keypoint fit of ``fit.py`` in plain numpy (float64), for low per-call overhead on the CPU.

Same algorithm, parameters and conventions as :class:`fit.HandFitter` (which dispatches here on the CPU);
kept as a line-by-line twin of the torch code: internal finger-major keypoint order, analytic Jacobian.
"""

from __future__ import annotations

import numpy as np

from .kinematics import FINGER_MASK

CARRIER_LEVEL = np.array([0, 1, 2, 2])

_EYE3 = np.eye(3)
_sum = np.add.reduce  # ufunc method: far less call overhead than ndarray.sum for tiny arrays


# skew(w) = (_SKEW @ w).reshape(3, 3): one matmul instead of seven element writes
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
# (vee(R - R^T) components, trace) of a flattened 3x3 matrix as one matmul
_VEE_TRACE = np.zeros((9, 4))
_VEE_TRACE[[7, 2, 3], [0, 1, 2]] = 1.0
_VEE_TRACE[[5, 6, 1], [0, 1, 2]] = -1.0
_VEE_TRACE[[0, 4, 8], 3] = 1.0


def _vee_trace(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R32 - R23, R13 - R31, R21 - R12) and the trace of rotations (..., 3, 3)."""
    vt = r.reshape(*r.shape[:-2], 9) @ _VEE_TRACE
    return vt[..., :3], vt[..., 3]


def rodrigues(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices (R = I + a K + b K^2, K^2 = w w^T - |w|^2 I)."""
    t2 = _sum(aa * aa, -1)[..., None, None]
    small = t2 < 1e-8
    t = np.sqrt(np.where(small, 1.0, t2))
    a = np.where(small, 1.0 - t2 / 6.0, np.sin(t) / t)
    b = np.where(small, 0.5 - t2 / 24.0, (1.0 - np.cos(t)) / (t * t))
    k2 = aa[..., :, None] * aa[..., None, :] - t2 * _EYE3
    return _EYE3 + a * skew(aa) + b * k2


def skew(v: np.ndarray) -> np.ndarray:
    """(..., 3) -> (..., 3, 3) cross-product matrices."""
    return (_SKEW @ v[..., None]).reshape(*v.shape[:-1], 3, 3)


def log_small(r: np.ndarray) -> np.ndarray:
    """Axis-angle of rotations (..., 3, 3) well below pi."""
    vee, trace = _vee_trace(r)
    cos = np.clip((trace - 1.0) * 0.5, -1.0, 1.0)
    sin = 0.5 * np.sqrt(_sum(vee * vee, -1))
    angle = np.arctan2(sin, cos)
    scale = np.where(sin > 1e-6, angle / np.maximum(2.0 * sin, 1e-12), 0.5 + angle * angle / 12.0)
    return vee * scale[..., None]


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cross product over the last axis (cheaper than np.cross for small arrays)."""
    return (skew(u) @ v[..., None])[..., 0]


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotation turning direction u towards v (see ``rotations.rotation_between``).

    With unit u, v, w = u x v and c = u . v: R = c I + [w]x + w w^T / (1 + c).
    """
    inv = 1.0 / np.sqrt(np.maximum(_sum(u * u, -1) * _sum(v * v, -1), 1e-24))
    w = cross(u, v) * inv[..., None]
    c = _sum(u * v, -1) * inv
    outer = w[..., :, None] * (w / np.maximum(1.0 + c, 1e-3)[..., None])[..., None, :]
    return outer + skew(w) + c[..., None, None] * _EYE3


class NumpyRest:
    """Shape-dependent rest quantities (see ``kinematics.Rest``), numpy."""

    __slots__ = ("child_rel", "j0", "kp_fingers", "kp_wrist", "offsets", "palm")

    def __init__(self, joints: np.ndarray, kp_internal: np.ndarray) -> None:
        b = joints.shape[0]
        self.j0 = joints[:, 0]
        jf = joints[:, 1:].reshape(b, 5, 3, 3)
        parents = np.concatenate(
            [np.broadcast_to(self.j0[:, None, None], (b, 5, 1, 3)), jf[:, :, :2]], axis=2
        )
        self.offsets = jf - parents
        self.kp_wrist = kp_internal[:, 0] - self.j0
        self.kp_fingers = kp_internal[:, 1:].reshape(b, 5, 4, 3) - jf[:, :, CARRIER_LEVEL]
        # palm keypoints relative to the wrist joint (wrist, index, middle, ring, pinky MCP) for Kabsch
        mcp = self.offsets[:, :, 0] + self.kp_fingers[:, :, 0]
        self.palm = np.concatenate([self.kp_wrist[:, None], mcp[:, [0, 1, 3, 2]]], axis=1)
        # child keypoint of each level relative to that level's joint (rest pose)
        self.child_rel = np.concatenate(
            [self.offsets[:, :, 1:] + self.kp_fingers[:, :, 1:3], self.kp_fingers[:, :, 3:]], axis=2
        )


def forward(
    r0: np.ndarray, rf: np.ndarray, transl: np.ndarray, rest: NumpyRest
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns o0 (B, 3), af (B, 5, 3, 3, 3), of (B, 5, 3, 3), kp (B, 21, 3) internal order, a0 (B, 3, 3)."""
    b = r0.shape[0]
    ag = np.empty((b, 5, 4, 3, 3))  # global rotations of levels 0-2, the tip's carrier repeats level 2
    np.matmul(r0[:, None], rf[:, :, 0], out=ag[:, :, 0])
    np.matmul(ag[:, :, 0], rf[:, :, 1], out=ag[:, :, 1])
    np.matmul(ag[:, :, 1], rf[:, :, 2], out=ag[:, :, 2])
    ag[:, :, 3] = ag[:, :, 2]
    o0 = rest.j0 + transl
    oc = np.empty((b, 5, 4, 3))  # joint positions of levels 0-2 (and the tip's carrier)
    oc[:, :, 0] = o0[:, None] + (r0[:, None] @ rest.offsets[:, :, 0, :, None])[..., 0]
    oc[:, :, 1] = oc[:, :, 0] + (ag[:, :, 0] @ rest.offsets[:, :, 1, :, None])[..., 0]
    oc[:, :, 2] = oc[:, :, 1] + (ag[:, :, 1] @ rest.offsets[:, :, 2, :, None])[..., 0]
    oc[:, :, 3] = oc[:, :, 2]
    kp = np.empty((b, 21, 3))
    kp[:, 1:] = (oc + (ag @ rest.kp_fingers[..., None])[..., 0]).reshape(b, 20, 3)
    kp[:, 0] = o0 + (r0 @ rest.kp_wrist[..., None])[..., 0]
    return o0, ag[:, :, :3], oc[:, :, :3], kp, r0


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

    def jacobian(self, a0: np.ndarray, af: np.ndarray) -> np.ndarray:
        """(B, 63, S) d keypoints (internal order) / d betas at fixed rotations."""
        b = a0.shape[0]
        s = self.dj0.shape[1]
        a_par = np.concatenate([np.broadcast_to(a0[:, None, None], (b, 5, 1, 3, 3)), af[:, :, :2]], axis=2)
        d = self.dj0 + np.cumsum(a_par @ self.doff, axis=2)  # (B, 5, 3, 3, S): d joint position / d betas
        out = np.empty((b, 21, 3, s))
        out[:, 0] = self.dj0 + a0 @ self.dkw
        carrier_a = af[:, :, CARRIER_LEVEL]
        out[:, 1:] = (d[:, :, CARRIER_LEVEL] + carrier_a @ self.dkf).reshape(b, 20, 3, s)
        return out.reshape(b, 63, s)


class NumpyFitCore:
    """numpy twin of ``HandFitter``'s start and LM step; constructed by HandFitter with its settings."""

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
        self.lo, self.hi = lo, hi
        self.inv_sigma = inv_sigma
        self.limit_w2 = limit_w2
        self.damping = damping
        self.mask = FINGER_MASK[:, :, None, None]  # (4, 3, 1, 1): level l moves keypoint k of its finger
        self.eye5_b = np.eye(5).reshape(5, 1, 1, 5, 1, 1)  # block-diagonal scatter over fingers
        self.eye15_b = np.eye(15).reshape(15, 1, 15, 1)  # over joints
        self.h_prior = (prior_blocks[:, :, None, :] * self.eye15_b).reshape(45, 45)
        self.jt = np.tile(_EYE3, (21, 1))

    def initialise(
        self, x: np.ndarray, w: np.ndarray, rest: NumpyRest
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = x.shape[0]
        p = rest.palm
        q = x[:, [0, 1, 5, 13, 9]]
        wp = w[:, [0, 1, 5, 13, 9], None]
        wsum = _sum(wp, 1, keepdims=True)
        pc = _sum(wp * p, 1, keepdims=True) / wsum
        qc = _sum(wp * q, 1, keepdims=True) / wsum
        cov = ((p - pc) * wp).transpose(0, 2, 1) @ (q - qc)
        u, _, vt = np.linalg.svd(cov)
        v = vt.transpose(0, 2, 1)
        r0 = v @ u.transpose(0, 2, 1)
        d = _sum(r0[:, :, 0] * cross(r0[:, :, 1], r0[:, :, 2]), -1)  # det, +-1
        v[..., 2] *= d[:, None]
        r0 = v @ u.transpose(0, 2, 1)
        o0 = qc[:, 0] - (r0 @ pc[:, 0, :, None])[..., 0]
        transl = o0 - rest.j0
        # swings, level by level along the chains (see HandFitter.initialise)
        a_par = np.broadcast_to(r0[:, None], (b, 5, 3, 3))
        o = np.broadcast_to(o0[:, None], (b, 5, 3))
        xf = x[:, 1:].reshape(b, 5, 4, 3)
        rots = np.empty((b, 5, 3, 3, 3))
        for level in range(3):
            o = o + (a_par @ rest.offsets[:, :, level, :, None])[..., 0]
            u_dir = (a_par @ rest.child_rel[:, :, level, :, None])[..., 0]
            a_j = rotation_between(u_dir, xf[:, :, level + 1] - o) @ a_par
            np.matmul(a_par.transpose(0, 1, 3, 2), a_j, out=rots[:, :, level])
            a_par = a_j
        return r0, rots, transl

    def lm_step(
        self,
        x: np.ndarray,
        sw: np.ndarray,
        r0: np.ndarray,
        rf: np.ndarray,
        transl: np.ndarray,
        rest: NumpyRest,
        shape: ShapeTerms | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """One damped Gauss-Newton step; also updates the shape (last output) when ``shape`` is given."""
        b = x.shape[0]
        o0, af, of, kp, a0 = forward(r0, rf, transl, rest)
        # root: column c = (A0 e_c) x (kp - o0) = [o0 - kp]x A0 ; fingers likewise per carrying level
        j_root = (skew(o0[:, None] - kp) @ a0[:, None]).reshape(b, 63, 3)
        lever = of[:, :, None] - kp[:, 1:].reshape(b, 5, 4, 1, 3)  # (B, 5, 4k, 3l, 3)
        blocks = (skew(lever) @ af[:, :, None]) * self.mask  # (B, 5, 4k, 3l, 3x, 3c)
        j_f = (blocks.transpose(0, 1, 2, 4, 3, 5)[:, :, :, :, None] * self.eye5_b).reshape(b, 60, 45)
        j_f = np.concatenate([np.zeros((b, 3, 45)), j_f], axis=1)
        sw3 = np.broadcast_to(sw[:, :, None], (b, 21, 3)).reshape(b, 63, 1)
        parts = [j_root, np.broadcast_to(self.jt, (b, 63, 3)), j_f]
        if shape is not None:
            parts.append(shape.jacobian(a0, af))
        jac = np.concatenate(parts, axis=2) * sw3
        p = jac.shape[2]
        jt = jac.transpose(0, 2, 1)
        hess = jt @ jac
        grad = (jt @ ((kp - x).reshape(b, 63, 1) * sw3))[..., 0]
        # weak pose prior (constant block-diagonal Hessian) and soft limits on joints 1-15 (anatomical frames)
        theta = log_small(rf).reshape(b, 45)
        hess[:, 6:51, 6:51] += self.h_prior
        grad[:, 6:51] += theta @ self.h_prior
        anat = (self.frames_t @ theta.reshape(b, 15, 3, 1))[..., 0]
        viol = anat - np.clip(anat, self.lo, self.hi)
        if viol.any():  # usually no limit is active: skip the work
            hb = (self.frames * ((viol != 0) * self.limit_w2)[:, :, None, :]) @ self.frames_t
            hess[:, 6:51, 6:51] += (hb[:, :, :, None, :] * self.eye15_b).reshape(b, 45, 45)
            grad[:, 6:51] += (self.frames @ (self.limit_w2 * viol)[..., None]).reshape(b, 45)
        diag = hess.reshape(b, p * p)[:, :: p + 1]  # a view of the diagonals
        if shape is not None:
            diag[:, 51:] += shape.prior_w2
            grad[:, 51:] += shape.prior_w2 * shape.betas
        diag *= 1.0 + 1e-3
        diag += self.damping
        step = -np.linalg.solve(hess, grad[..., None])[..., 0]
        rots = rodrigues(np.concatenate([step[:, :3], step[:, 6:51]], axis=1).reshape(b, 16, 3))
        betas = None if shape is None else shape.betas + step[:, 51:]
        return r0 @ rots[:, 0], rf @ rots[:, 1:].reshape(b, 5, 3, 3, 3), transl + step[:, 3:6], betas


def log_rotation(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) of any rotations (..., 3, 3), angle in [0, pi] (handles angles near pi)."""
    aa = log_small(r)
    cos = (_vee_trace(r)[1] - 1.0) * 0.5
    near_pi = cos < -0.999
    if near_pi.any():
        rs = r[near_pi]
        sym = 0.5 * (rs + rs.transpose(0, 2, 1)) - cos[near_pi][:, None, None] * _EYE3
        col = np.argmax(np.diagonal(sym, axis1=1, axis2=2), axis=1)
        axis = sym[np.arange(len(rs)), :, col]
        axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
        vee = np.stack([rs[:, 2, 1] - rs[:, 1, 2], rs[:, 0, 2] - rs[:, 2, 0], rs[:, 1, 0] - rs[:, 0, 1]], -1)
        sign = np.where((axis * vee).sum(1, keepdims=True) < 0, -1.0, 1.0)
        angle = np.arccos(np.clip(cos[near_pi], -1.0, 1.0))
        aa[near_pi] = axis * sign * angle[:, None]
    return aa
