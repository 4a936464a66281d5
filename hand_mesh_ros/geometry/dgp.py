"""Global positioning of a hand: the camera-frame translation from 2D-3D joint correspondences.

Inputs per hand (batched over B hands, J joints):

* ``uv``: undistorted *normalised* image points ``K^-1 [x, y, 1]`` (B, J, 2), unitless;
* ``joints``: root-relative 3D joints (B, J, 3), metres, already rotated into the camera's orientation
  (camera optical frame: x right, y down, z forward);
* ``weights``: per-joint weights (B, J) >= 0. Where they come from is the caller's choice: uniform (1.0),
  the network's per-joint visibility/presence, or the inverse of a fit residual; zero drops a joint.

The translation ``t`` (metres) places the root-relative joints in the camera: ``X_cam = joints + t``.

Linear step (HandDGP's global positioning): each joint gives two equations linear in ``t``:
``(X + t)_x - u (X + t)_z = 0`` and ``(X + t)_y - v (X + t)_z = 0``; the weighted normal equations
``A^T W A t = A^T W b`` (3x3) are solved in closed form. This residual is algebraic: it is the image error
multiplied by the joint's depth, so far joints weigh more. The optional refinement (``refine=True``)
minimises the true reprojection error with a few Gauss-Newton steps on the 3 unknowns. It is off by default
because it made camera-space errors worse in every measurement so far: handgraph_dev with MediaPipe-style
landmarks 27.0 -> 29.8 mm mean, and the ground-truth oracle with 10 mm of 3D noise 22.5 -> 39 mm. Errors in
the 3D shape (not in the 2D points) dominate there, and the reprojection cost then prefers a too-distant hand
(a noisy shape projected smaller fits better); the algebraic cost has no such pull. It helps when 2D noise
dominates.

Numpy, batched over hands, with degeneracy checks and fallbacks. (A differentiable torch twin was removed:
nothing used it; the camera-space fit of the hand model uses this solve to place a new hand.)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel

MIN_DEPTH_M = 0.05  # a hand closer than 5 cm to the camera centre is treated as a failed solution
MAX_CONDITION = 1e9  # normal matrices worse than this are treated as degenerate
MIN_VALID_JOINTS = 3
STEP_TOL_M = 1e-7  # Gauss-Newton stops when no coordinate of the step exceeds 0.1 micrometre


class DGPStatus(IntEnum):
    """How the translation of one hand was obtained."""

    OK = 0  # linear solve (and refinement if asked) succeeded
    FALLBACK_SIZE = 1  # degenerate system: weak-perspective estimate from the 2D/3D spreads
    FALLBACK_PREVIOUS = 2  # degenerate and no usable spread: the caller's previous translation
    FAILED = 3  # nothing usable: translation is NaN


@dataclass(frozen=True, eq=False)
class DGPResult:
    """Batched solution. ``translation`` (B, 3) metres; ``status`` (B,) DGPStatus values;
    ``condition`` (B,) condition number of the linear normal matrix; ``reprojection_rms`` (B,) weighted RMS
    image error of the final translation in the units of ``pixel_scale`` (pixels when focal lengths are
    given).
    """

    translation: np.ndarray
    status: np.ndarray
    condition: np.ndarray
    reprojection_rms: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.status == DGPStatus.OK


def _check_inputs(uv: np.ndarray, joints: np.ndarray,
                  weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    uv_a = np.asarray(uv, dtype=np.float64)
    x_a = np.asarray(joints, dtype=np.float64)
    single = uv_a.ndim == 2
    if single:
        uv_a, x_a = uv_a[None], x_a[None]
    if uv_a.ndim != 3 or uv_a.shape[-1] != 2:
        raise ValueError(f"uv must have shape (J, 2) or (B, J, 2), got {np.shape(uv)}")
    if x_a.shape != (*uv_a.shape[:2], 3):
        raise ValueError(f"joints must have shape {(*uv_a.shape[:2], 3)} to match uv, got {np.shape(joints)}")
    if weights is None:
        w = np.ones(uv_a.shape[:2])
    else:
        w = np.asarray(weights, dtype=np.float64)
        if single and w.ndim == 1:
            w = w[None]
        if w.shape != uv_a.shape[:2]:
            raise ValueError(f"weights must have shape {uv_a.shape[:2]}, got {np.shape(weights)}")
        if np.any(w < 0):
            raise ValueError("weights must be >= 0")
    finite = np.all(np.isfinite(uv_a), axis=-1) & np.all(np.isfinite(x_a), axis=-1) & np.isfinite(w)
    w = np.where(finite, w, 0.0)
    uv_a = np.where(finite[..., None], uv_a, 0.0)
    x_a = np.where(finite[..., None], x_a, 0.0)
    return uv_a, x_a, w, single


def _normal_equations(uv: np.ndarray, x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """M (B,3,3) and rhs (B,3) of the weighted algebraic least squares."""
    u, v = uv[..., 0], uv[..., 1]
    sw = w.sum(-1)
    su, sv = (w * u).sum(-1), (w * v).sum(-1)
    suu = (w * (u * u + v * v)).sum(-1)
    m = np.zeros((*uv.shape[:1], 3, 3))
    m[:, 0, 0] = sw
    m[:, 1, 1] = sw
    m[:, 0, 2] = m[:, 2, 0] = -su
    m[:, 1, 2] = m[:, 2, 1] = -sv
    m[:, 2, 2] = suu
    bx = u * x[..., 2] - x[..., 0]
    by = v * x[..., 2] - x[..., 1]
    rhs = np.stack([(w * bx).sum(-1), (w * by).sum(-1), (w * (-u * bx - v * by)).sum(-1)], axis=-1)
    return m, rhs


def reprojection_residuals(uv: np.ndarray, joints: np.ndarray, t: np.ndarray,
                           pixel_scale: np.ndarray | tuple[float, float] = (1.0, 1.0)) -> np.ndarray:
    """Per-joint image residual (B, J, 2) of ``joints + t`` against ``uv``, times ``pixel_scale`` (fx, fy)."""
    p = joints + t[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = p[..., :2] / p[..., 2:3]
    scale = np.broadcast_to(np.asarray(pixel_scale, dtype=np.float64).reshape(-1, 2), (len(t), 2))
    return (proj - uv) * scale[:, None, :]


def _weighted_rms(res: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((w * (res ** 2).sum(-1)).sum(-1) / np.where(sw > 0, sw, np.nan))


def refine_translation(uv: np.ndarray, joints: np.ndarray, weights: np.ndarray, t0: np.ndarray,
                       pixel_scale: np.ndarray | tuple[float, float] = (1.0, 1.0),
                       iterations: int = 5) -> np.ndarray:
    """Gauss-Newton on the weighted reprojection error (B hands, 3 unknowns each), from ``t0`` (B, 3).

    Steps that increase the cost or put a joint behind ``MIN_DEPTH_M`` are halved (up to 8 times) or
    rejected, so the result is never worse than ``t0``.
    """
    scale = np.broadcast_to(np.asarray(pixel_scale, dtype=np.float64).reshape(-1, 2), (len(t0), 2))
    sx, sy = scale[:, 0:1], scale[:, 1:2]
    t = t0.copy()

    def cost(tt: np.ndarray) -> np.ndarray:
        p = joints + tt[:, None, :]
        z = p[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            rx = (p[..., 0] / z - uv[..., 0]) * sx
            ry = (p[..., 1] / z - uv[..., 1]) * sy
        c = (weights * (rx * rx + ry * ry)).sum(-1)
        bad = np.any((z < MIN_DEPTH_M) & (weights > 0), axis=-1)
        return np.where(bad | ~np.isfinite(c), np.inf, c)

    current = cost(t)
    for _ in range(iterations):
        p = joints + t[:, None, :]
        z = np.where(p[..., 2] > MIN_DEPTH_M, p[..., 2], MIN_DEPTH_M)
        iz = 1.0 / z
        rx = (p[..., 0] * iz - uv[..., 0]) * sx
        ry = (p[..., 1] * iz - uv[..., 1]) * sy
        # Jacobians of rx, ry w.r.t. (tx, ty, tz)
        jx = np.stack([sx * iz, np.zeros_like(iz), -sx * p[..., 0] * iz * iz], axis=-1)
        jy = np.stack([np.zeros_like(iz), sy * iz, -sy * p[..., 1] * iz * iz], axis=-1)
        wj = weights[..., None]
        h = np.einsum("bji,bjk->bik", wj * jx, jx) + np.einsum("bji,bjk->bik", wj * jy, jy)
        g = (wj * jx * rx[..., None]).sum(1) + (wj * jy * ry[..., None]).sum(1)
        h = h + np.eye(3) * (1e-12 * np.trace(h, axis1=1, axis2=2)[:, None, None] + 1e-18)
        try:
            step = -np.linalg.solve(h, g[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        step = np.where(np.isfinite(step), step, 0.0)
        if np.all(np.abs(step).max(-1) < STEP_TOL_M):  # converged: the cost can no longer tell steps apart
            break
        alpha = np.ones(len(t))
        accepted = np.zeros(len(t), dtype=bool)
        for _ in range(8):
            cand = t + alpha[:, None] * step
            c = cost(cand)
            better = (c <= current) & ~accepted
            t = np.where(better[:, None], cand, t)
            current = np.where(better, c, current)
            accepted |= better
            if np.all(accepted):
                break
            alpha = np.where(accepted, alpha, alpha * 0.5)
    return t


def solve_translation(
    uv: np.ndarray,
    joints: np.ndarray,
    weights: np.ndarray | None = None,
    refine: bool = False,
    pixel_scale: np.ndarray | tuple[float, float] = (1.0, 1.0),
    previous: np.ndarray | None = None,
    iterations: int = 5,
) -> DGPResult:
    """Solve the translation of B hands (numpy). Shapes: uv (B, J, 2) or (J, 2); joints matching, metres.

    ``pixel_scale`` = (fx, fy) makes the refinement and the reported RMS work in pixels.
    ``previous`` (B, 3) or (3,), optional: used when the system is degenerate and no size estimate exists.
    Degenerate = fewer than 3 joints with positive finite weight, normal matrix condition above
    ``MAX_CONDITION``, or a solution with depth below ``MIN_DEPTH_M``.
    """
    uv_a, x_a, w, _ = _check_inputs(uv, joints, weights)
    b = uv_a.shape[0]
    m, rhs = _normal_equations(uv_a, x_a, w)
    n_valid = (w > 0).sum(-1)
    cond = np.full(b, np.inf)
    t = np.full((b, 3), np.nan)
    for i in range(b):  # 3x3 per hand: cheap; keeps a singular hand from breaking the batch
        if n_valid[i] >= MIN_VALID_JOINTS:
            cond[i] = np.linalg.cond(m[i])
            if np.isfinite(cond[i]) and cond[i] < MAX_CONDITION:
                t[i] = np.linalg.solve(m[i], rhs[i])
    root_depth = t[:, 2] + _weighted_mean(x_a[..., 2], w)
    ok = np.isfinite(t).all(-1) & (root_depth > MIN_DEPTH_M)
    status = np.where(ok, DGPStatus.OK, DGPStatus.FAILED).astype(np.int64)
    if refine and np.any(ok):
        idx = np.nonzero(ok)[0]
        scale = np.broadcast_to(np.asarray(pixel_scale, dtype=np.float64).reshape(-1, 2), (b, 2))[idx]
        t[idx] = refine_translation(uv_a[idx], x_a[idx], w[idx], t[idx], scale, iterations)
    if not np.all(ok):
        t_size = weak_perspective_translation(uv_a, x_a, w)
        prev = None if previous is None else np.broadcast_to(np.asarray(previous, dtype=np.float64), (b, 3))
        for i in np.nonzero(~ok)[0]:
            if np.all(np.isfinite(t_size[i])) and n_valid[i] >= 2:
                t[i], status[i] = t_size[i], DGPStatus.FALLBACK_SIZE
            elif prev is not None and np.all(np.isfinite(prev[i])):
                t[i], status[i] = prev[i], DGPStatus.FALLBACK_PREVIOUS
            else:
                t[i], status[i] = np.nan, DGPStatus.FAILED
    res = reprojection_residuals(uv_a, x_a, t, pixel_scale)
    return DGPResult(t, status, cond, _weighted_rms(res, w))


def _weighted_mean(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    sw = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * a).sum(-1) / np.where(sw > 0, sw, np.nan)


def weak_perspective_translation(uv: np.ndarray, joints: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Scale-from-size estimate (B, 3): depth = RMS 3D spread (x, y) / RMS image spread (normalised).

    Used as the fallback when the linear system is degenerate; NaN where the image spread is ~0.
    """
    mu_uv = np.stack([_weighted_mean(uv[..., 0], w), _weighted_mean(uv[..., 1], w)], -1)
    mu_x = np.stack([_weighted_mean(joints[..., k], w) for k in range(3)], -1)
    d2 = ((uv - mu_uv[:, None]) ** 2).sum(-1)
    d3 = ((joints[..., :2] - mu_x[:, None, :2]) ** 2).sum(-1)
    s2 = np.sqrt(_weighted_mean(d2, w))
    s3 = np.sqrt(_weighted_mean(d3, w))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s2 > 1e-9, s3 / s2, np.nan)
    z = np.where(z > MIN_DEPTH_M, z, np.nan)
    t = np.stack([mu_uv[:, 0] * z - mu_x[:, 0], mu_uv[:, 1] * z - mu_x[:, 1], z - mu_x[:, 2]], -1)
    return t


# ---------------------------------------------------------------------------------------------- camera-level
def locate_hand(camera: CameraModel, keypoints_px: np.ndarray, joints_rel: np.ndarray,
                weights: np.ndarray | None = None, refine: bool = False,
                previous: np.ndarray | None = None) -> DGPResult:
    """Convenience for one camera: raw image keypoints (B, J, 2) or (J, 2) px -> DGPResult (pixel RMS).

    Keypoints are undistorted with the camera's lens model first.
    """
    uv = camera.undistort_points(np.asarray(keypoints_px, dtype=np.float64), "normalized")
    return solve_translation(uv, joints_rel, weights, refine=refine, pixel_scale=(camera.fx, camera.fy),
                             previous=previous)
