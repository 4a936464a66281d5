"""Lens distortion models of ``sensor_msgs/CameraInfo`` on normalised image coordinates.

All functions work on *normalised* coordinates: ``(x, y) = (X / Z, Y / Z)`` in the camera optical frame
(x right, y down, z forward), before the intrinsic matrix K is applied. ``distort`` maps ideal (pinhole)
normalised points to distorted normalised points; ``undistort`` inverts it numerically.

Supported models (names as in ``sensor_msgs/distortion_models.hpp``):

* ``plumb_bob``: Brown-Conrady, D = (k1, k2, p1, p2, k3).
* ``rational_polynomial``: D = (k1, k2, p1, p2, k3, k4, k5, k6).
* ``equidistant``: fisheye, D = (k1, k2, k3, k4); the distorted radius is
  ``theta * (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)`` with ``theta = atan(r)``.

An empty D (or all zeros) means no distortion whatever the model name.
"""

from __future__ import annotations

import numpy as np

PLUMB_BOB = "plumb_bob"
RATIONAL_POLYNOMIAL = "rational_polynomial"
EQUIDISTANT = "equidistant"
SUPPORTED_MODELS = (PLUMB_BOB, RATIONAL_POLYNOMIAL, EQUIDISTANT)

_EXPECTED_LEN = {PLUMB_BOB: 5, RATIONAL_POLYNOMIAL: 8, EQUIDISTANT: 4}


def normalise_coefficients(model: str, d: np.ndarray | list[float] | tuple[float, ...]) -> np.ndarray:
    """Return D as a float64 vector of the model's full length (missing trailing terms are zero).

    Raises ValueError for an unknown model, too many coefficients or non-finite values.
    """
    arr = np.asarray(d, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.any(arr):
        return np.zeros(0)
    if model not in _EXPECTED_LEN:
        raise ValueError(f"unsupported distortion model {model!r}; expected one of {SUPPORTED_MODELS}")
    n = _EXPECTED_LEN[model]
    if arr.size > n:
        # plumb_bob with 8 coefficients whose extra terms are zero is sometimes published; accept it.
        if np.any(arr[n:]):
            raise ValueError(f"{model} takes {n} coefficients, got {arr.size} with non-zero extra terms")
        arr = arr[:n]
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"distortion coefficients must be finite, got {arr.tolist()}")
    out = np.zeros(n)
    out[: arr.size] = arr
    return out


def _check_points(xy: np.ndarray) -> np.ndarray:
    pts = np.asarray(xy, dtype=np.float64)
    if pts.ndim == 0 or pts.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {pts.shape}")
    return pts


def _radtan_factors(x: np.ndarray, y: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radial gain and tangential offsets of the plumb_bob / rational model."""
    k1, k2, p1, p2, k3 = d[:5]
    r2 = x * x + y * y
    num = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    if d.size == 8:
        k4, k5, k6 = d[5:8]
        den = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
    else:
        den = np.ones_like(r2)
    radial = num / den
    dx = 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    dy = p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return radial, dx, dy


def _fisheye_theta_d(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    t2 = theta * theta
    return theta * (1.0 + t2 * (d[0] + t2 * (d[1] + t2 * (d[2] + t2 * d[3]))))


def _fisheye_dtheta_d(theta: np.ndarray, d: np.ndarray) -> np.ndarray:
    t2 = theta * theta
    return 1.0 + t2 * (3.0 * d[0] + t2 * (5.0 * d[1] + t2 * (7.0 * d[2] + t2 * 9.0 * d[3])))


def distort(xy: np.ndarray, model: str, d: np.ndarray) -> np.ndarray:
    """Apply distortion to ideal normalised points ``xy`` (..., 2); returns distorted normalised points."""
    pts = _check_points(xy)
    coeffs = normalise_coefficients(model, d)
    if coeffs.size == 0:
        return pts.copy()
    x, y = pts[..., 0], pts[..., 1]
    if model == EQUIDISTANT:
        r = np.hypot(x, y)
        theta = np.arctan(r)
        theta_d = _fisheye_theta_d(theta, coeffs)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        return np.stack([x * scale, y * scale], axis=-1)
    radial, dx, dy = _radtan_factors(x, y, coeffs)
    return np.stack([x * radial + dx, y * radial + dy], axis=-1)


def _undistort_fisheye(pts: np.ndarray, d: np.ndarray, iterations: int) -> np.ndarray:
    xd, yd = pts[..., 0], pts[..., 1]
    theta_d = np.hypot(xd, yd)
    theta = np.clip(theta_d.copy(), 0.0, np.pi / 2)
    for _ in range(iterations):  # Newton on theta_d(theta) = measured
        f = _fisheye_theta_d(theta, d) - theta_d
        fp = _fisheye_dtheta_d(theta, d)
        step = f / np.where(np.abs(fp) > 1e-12, fp, 1e-12)
        theta = np.clip(theta - step, 0.0, np.pi / 2 - 1e-9)
        if np.all(np.abs(step) < 1e-13):
            break
    valid = np.abs(_fisheye_theta_d(theta, d) - theta_d) < 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(theta_d > 1e-12, np.tan(theta) / np.where(theta_d > 1e-12, theta_d, 1.0), 1.0)
    out = np.stack([xd * scale, yd * scale], axis=-1)
    out[~valid] = np.nan
    return out


def _undistort_radtan(pts: np.ndarray, d: np.ndarray, iterations: int) -> np.ndarray:
    xd, yd = pts[..., 0], pts[..., 1]
    x, y = xd.copy(), yd.copy()
    # Fixed-point start (OpenCV's scheme), then Newton with a finite-difference Jacobian to converge to
    # machine precision where the distortion map is invertible.
    for _ in range(5):
        radial, dx, dy = _radtan_factors(x, y, d)
        radial = np.where(np.abs(radial) > 1e-12, radial, 1e-12)
        x = (xd - dx) / radial
        y = (yd - dy) / radial
    eps = 1e-7
    for _ in range(iterations):
        radial, dx, dy = _radtan_factors(x, y, d)
        fx = x * radial + dx - xd
        fy = y * radial + dy - yd
        rx, ddx, ddy = _radtan_factors(x + eps, y, d)
        j11 = ((x + eps) * rx + ddx - xd - fx) / eps
        j21 = (y * rx + ddy - yd - fy) / eps
        ry, ddx, ddy = _radtan_factors(x, y + eps, d)
        j12 = (x * ry + ddx - xd - fx) / eps
        j22 = ((y + eps) * ry + ddy - yd - fy) / eps
        det = j11 * j22 - j12 * j21
        det = np.where(np.abs(det) > 1e-15, det, 1e-15)
        sx = (j22 * fx - j12 * fy) / det
        sy = (-j21 * fx + j11 * fy) / det
        x = x - sx
        y = y - sy
        if np.all(np.abs(sx) + np.abs(sy) < 1e-12):  # ~1e-9 px at f = 1000 px
            break
    radial, dx, dy = _radtan_factors(x, y, d)
    resid = np.hypot(x * radial + dx - xd, y * radial + dy - yd)
    out = np.stack([x, y], axis=-1)
    out[~(resid < 1e-9)] = np.nan
    return out


def undistort(xy: np.ndarray, model: str, d: np.ndarray, iterations: int = 20) -> np.ndarray:
    """Invert :func:`distort`: distorted normalised points (..., 2) -> ideal normalised points.

    Points where the iteration does not converge (outside the region where the model is invertible)
    come back as NaN rather than as a wrong value.
    """
    pts = _check_points(xy)
    coeffs = normalise_coefficients(model, d)
    if coeffs.size == 0:
        return pts.copy()
    if model == EQUIDISTANT:
        return _undistort_fisheye(pts, coeffs, iterations)
    return _undistort_radtan(pts, coeffs, iterations)
