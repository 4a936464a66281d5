"""Batched rotation helpers in numpy (float64), written for few numpy calls on tiny arrays.

A numpy call on a tiny array costs about a microsecond, far more than its arithmetic, so each helper is a
handful of matmuls through constant matrices built at import rather than element-wise formulas. Axis-angle
vectors are in radians; rotation matrices act on column vectors.
"""

from __future__ import annotations

import numpy as np

_EYE3 = np.eye(3)
_sum = np.add.reduce  # ufunc methods: far less call overhead than ndarray.sum for tiny arrays
_max = np.maximum.reduce

# skew(w) = (w @ _SKEW_T).reshape(3, 3): one matmul instead of seven element writes
_SKEW = np.zeros((9, 3))
for _i, _j, _k, _sgn in ((0, 1, 2, -1), (0, 2, 1, 1), (1, 0, 2, 1), (1, 2, 0, -1), (2, 0, 1, -1), (2, 1, 0, 1)):
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


def axis_angle_to_matrix(aa: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotation matrices, through the unit quaternion.

    q = (cos h, sin(h) / h * aa / 2) with h = |aa| / 2 (exact down to aa = 0); R is quadratic in q, so
    R = vec(q q^T) @ _QUAT_TO_R, one matmul.
    """
    aa = np.asarray(aa, dtype=np.float64)
    h = np.maximum(0.5 * np.sqrt(_sum(aa * aa, -1)), 1e-150)
    q = np.empty((*aa.shape[:-1], 4))
    np.cos(h, out=q[..., 0])
    np.multiply((0.5 * np.sin(h) / h)[..., None], aa, out=q[..., 1:])
    return quaternion_to_matrix(q)


def quaternion_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternions (w, x, y, z) -> (..., 3, 3) rotation matrices (R = vec(q q^T) @ _QUAT_TO_R)."""
    q = np.asarray(q, dtype=np.float64)
    qq = q[..., :, None] * q[..., None, :]
    return (qq.reshape(*q.shape[:-1], 16) @ _QUAT_TO_R).reshape(*q.shape[:-1], 3, 3)


def log_small(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) of rotations (..., 3, 3) known to be well below pi (joint rotations); no branch."""
    vt = r.reshape(*r.shape[:-2], 9) @ _HALF_VEE_TRACE
    hv = vt[..., :3]  # sin(angle) * axis
    sin = np.sqrt(_sum(hv * hv, -1))
    angle = np.arctan2(sin, vt[..., 3] - 0.5)
    return hv * (angle / np.maximum(sin, 1e-300))[..., None]


def matrix_to_axis_angle(r: np.ndarray) -> np.ndarray:
    """Axis-angle (..., 3) of any rotations (..., 3, 3), angle in [0, pi] (handles angles near pi)."""
    r = np.asarray(r, dtype=np.float64)
    vt = r.reshape(*r.shape[:-2], 9) @ _HALF_VEE_TRACE
    hv = vt[..., :3]
    cos = vt[..., 3] - 0.5
    sin = np.sqrt(_sum(hv * hv, -1))
    angle = np.arctan2(sin, cos)
    aa = hv * (angle / np.maximum(sin, 1e-300))[..., None]
    near_pi = cos < -0.999
    if _max(near_pi, None):
        rs = r[near_pi]
        sym = 0.5 * (rs + rs.swapaxes(-1, -2)) - cos[near_pi][:, None, None] * _EYE3
        col = np.argmax(np.diagonal(sym, axis1=1, axis2=2), axis=1)
        axis = sym[np.arange(len(rs)), :, col]
        axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
        sign = np.where((axis * hv[near_pi]).sum(1, keepdims=True) < 0, -1.0, 1.0)
        aa[near_pi] = axis * sign * angle[near_pi][:, None]
    return aa


def rotation_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Smallest rotation (..., 3, 3) turning direction u towards direction v (both (..., 3), any length).

    With unit u, v, w = u x v and c = u . v: R = c I + [w]x + w w^T / (1 + c); exactly opposite directions
    (c = -1) are clamped (the result is then not a rotation by pi; callers never need that case).
    """
    wc = (u @ _SKEW_DOT_T).reshape(*u.shape[:-1], 4, 3) @ v[..., None]  # (..., 4, 1): u x v, u . v
    wc /= np.sqrt(np.maximum(_sum(u * u, -1) * _sum(v * v, -1), 1e-24))[..., None, None]
    w = wc[..., :3, 0]
    c = wc[..., 3:, :]  # (..., 1, 1)
    outer = w[..., :, None] * (w[..., None, :] / np.maximum(1.0 + c, 1e-3))
    return outer + skew(w) + c * _EYE3


def kabsch(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rotation best taking point sets ``src`` onto ``dst`` (..., N, 3), weighted least squares (Kabsch).

    Returns (R (..., 3, 3), src centroid (..., 3), dst centroid (..., 3)) minimising
    sum_n w_n |R (src_n - c_src) - (dst_n - c_dst)|^2 with weighted centroids; ``weights`` (..., N) >= 0
    (None: all 1). A reflection is turned into the nearest rotation by flipping the least significant axis.
    ``src`` broadcasts against ``dst`` (e.g. one rest shape for a batch).
    """
    src = np.broadcast_to(src, np.broadcast_shapes(np.shape(src), np.shape(dst)))
    w = np.ones(dst.shape[:-1]) if weights is None else np.asarray(weights, dtype=np.float64)
    w3 = w[..., None]
    wsum = np.add.reduce(w3, -2)
    cs = np.add.reduce(w3 * src, -2) / wsum
    cd = np.add.reduce(w3 * dst, -2) / wsum
    cov = ((src - cs[..., None, :]) * w3).swapaxes(-1, -2) @ (dst - cd[..., None, :])
    u, _, vt = np.linalg.svd(cov)
    v = vt.swapaxes(-1, -2)
    ut = u.swapaxes(-1, -2)
    v[..., 2] *= np.linalg.det(v @ ut)[..., None]
    return v @ ut, cs, cd
