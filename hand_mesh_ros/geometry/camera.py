"""Camera intrinsics and lens distortion, built from the fields of ``sensor_msgs/CameraInfo``.

Frames and units: 3D points are in the camera optical frame (x right, y down, z forward), metres.
Pixels are in the image actually received (after binning and ROI), origin at the centre of the top-left
pixel. "Normalised" coordinates are ``(X / Z, Y / Z)``: the pinhole image plane at unit depth.
"Undistorted pixels" are normalised coordinates mapped through K without distortion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from hand_mesh_ros.geometry import distortion as dist


class InvalidIntrinsics(ValueError):
    """The camera intrinsics cannot be used (bad focal length, NaN, wrong shape or size mismatch)."""


def _as_matrix(k: np.ndarray | Sequence[float], shape: tuple[int, int], name: str) -> np.ndarray:
    arr = np.asarray(k, dtype=np.float64)
    if arr.size != shape[0] * shape[1]:
        raise InvalidIntrinsics(f"{name} must have {shape[0] * shape[1]} elements, got {arr.size}")
    return arr.reshape(shape).copy()


@dataclass(frozen=True, eq=False)
class CameraModel:
    """Intrinsics of the received image: size (px), K (3x3, px) and distortion (model name + D).

    ``p`` is the optional 3x4 projection matrix of the rectified image (CameraInfo.P), adjusted for binning
    and ROI like K; it is kept for reference and not used by the projection methods, which work on the raw
    (distorted) image with K and D.
    """

    width: int
    height: int
    k: np.ndarray
    d: np.ndarray = field(default_factory=lambda: np.zeros(0))
    distortion_model: str = dist.PLUMB_BOB
    p: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.width, (int, np.integer)) or not isinstance(self.height, (int, np.integer)):
            raise InvalidIntrinsics(f"image size must be integers, got {self.width!r} x {self.height!r}")
        if self.width <= 0 or self.height <= 0:
            raise InvalidIntrinsics(f"image size must be positive, got {self.width} x {self.height}")
        k = _as_matrix(self.k, (3, 3), "K")
        if not np.all(np.isfinite(k)):
            raise InvalidIntrinsics(f"K contains NaN or infinity: {k.tolist()}")
        if not np.any(k):
            raise InvalidIntrinsics("K is all zeros (camera not calibrated)")
        if k[0, 0] <= 0.0 or k[1, 1] <= 0.0:
            raise InvalidIntrinsics(f"focal lengths must be positive, got fx={k[0, 0]}, fy={k[1, 1]}")
        if abs(k[2, 2] - 1.0) > 1e-9 or abs(k[2, 0]) > 1e-12 or abs(k[2, 1]) > 1e-12 or abs(k[1, 0]) > 1e-12:
            raise InvalidIntrinsics(f"K must be upper triangular with K[2,2] = 1, got {k.tolist()}")
        try:
            d = dist.normalise_coefficients(self.distortion_model, self.d)
        except ValueError as exc:
            raise InvalidIntrinsics(str(exc)) from exc
        if d.size and self.distortion_model not in dist.SUPPORTED_MODELS:
            raise InvalidIntrinsics(f"unsupported distortion model {self.distortion_model!r}")
        p = None if self.p is None else _as_matrix(self.p, (3, 4), "P")
        k.setflags(write=False)
        d.setflags(write=False)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "d", d)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        if p is not None:
            p.setflags(write=False)
            object.__setattr__(self, "p", p)
        if d.size:
            _check_lens(self)

    # ------------------------------------------------------------------ construction
    @classmethod
    def pinhole(cls, width: int, height: int, fx: float, fy: float | None = None,
                cx: float | None = None, cy: float | None = None) -> CameraModel:
        """Distortion-free camera; principal point defaults to the image centre ((w-1)/2, (h-1)/2)."""
        fy = fx if fy is None else fy
        cx = (width - 1) / 2.0 if cx is None else cx
        cy = (height - 1) / 2.0 if cy is None else cy
        return cls(width, height, np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]))

    @classmethod
    def from_camera_info_fields(
        cls,
        width: int,
        height: int,
        distortion_model: str,
        d: Sequence[float],
        k: Sequence[float],
        binning_x: int = 0,
        binning_y: int = 0,
        roi_x_offset: int = 0,
        roi_y_offset: int = 0,
        roi_width: int = 0,
        roi_height: int = 0,
        p: Sequence[float] | None = None,
    ) -> CameraModel:
        """Build the model of the image actually published, as the CameraInfo documentation defines it.

        ``width``/``height``/``k``/``p`` describe the full-resolution calibrated sensor. The ROI (in
        full-resolution pixels; all zeros = whole image) is cut out first, then binning (0 or 1 = none)
        divides the pixel grid. So ``fx' = fx / bx``, ``cx' = (cx - roi_x) / bx`` and the published size is
        ``roi_width // bx`` (or ``width // bx`` without ROI). D is unchanged (it acts on normalised
        coordinates).
        """
        bx = int(binning_x) if binning_x else 1
        by = int(binning_y) if binning_y else 1
        if bx < 0 or by < 0:
            raise InvalidIntrinsics(f"binning must be >= 0, got {binning_x}, {binning_y}")
        full_w, full_h = int(width), int(height)
        roi_given = any(int(v) for v in (roi_x_offset, roi_y_offset, roi_width, roi_height))
        if roi_given:
            rw = int(roi_width) if roi_width else full_w - int(roi_x_offset)
            rh = int(roi_height) if roi_height else full_h - int(roi_y_offset)
            if roi_x_offset < 0 or roi_y_offset < 0 or rw <= 0 or rh <= 0:
                raise InvalidIntrinsics(f"invalid ROI offset ({roi_x_offset}, {roi_y_offset}) size {rw}x{rh}")
            if full_w > 0 and full_h > 0 and (roi_x_offset + rw > full_w or roi_y_offset + rh > full_h):
                raise InvalidIntrinsics(
                    f"ROI ({roi_x_offset}, {roi_y_offset}, {rw}x{rh}) exceeds the calibrated size "
                    f"{full_w}x{full_h}")
        else:
            rw, rh = full_w, full_h
        s = np.array([[1.0 / bx, 0.0, -float(roi_x_offset) / bx],
                      [0.0, 1.0 / by, -float(roi_y_offset) / by],
                      [0.0, 0.0, 1.0]])
        k_full = _as_matrix(k, (3, 3), "K")
        k_out = s @ k_full
        p_given = p is not None and bool(np.any(np.asarray(p, dtype=np.float64)))
        p_out = s @ _as_matrix(p, (3, 4), "P") if p_given and p is not None else None
        return cls(rw // bx, rh // by, k_out, np.asarray(d, dtype=np.float64), distortion_model, p_out)

    # ------------------------------------------------------------------ accessors
    @property
    def fx(self) -> float:
        return float(self.k[0, 0])

    @property
    def fy(self) -> float:
        return float(self.k[1, 1])

    @property
    def cx(self) -> float:
        return float(self.k[0, 2])

    @property
    def cy(self) -> float:
        return float(self.k[1, 2])

    @property
    def has_distortion(self) -> bool:
        return self.d.size > 0

    def key(self) -> tuple[object, ...]:
        """What identifies these intrinsics: equal keys describe the same image geometry."""
        return (self.width, self.height, self.distortion_model if self.d.size else "", self.k.tobytes(),
                self.d.tobytes())

    def check_image_size(self, width: int, height: int) -> None:
        """Raise InvalidIntrinsics if an incoming image is not the size these intrinsics describe."""
        if int(width) != self.width or int(height) != self.height:
            raise InvalidIntrinsics(
                f"image is {width}x{height} px but the camera model describes {self.width}x{self.height} px")

    # ------------------------------------------------------------------ pinhole maps
    def pixel_to_normalized(self, px: np.ndarray) -> np.ndarray:
        """Undistorted pixels (..., 2) -> normalised coordinates (K^-1, no distortion)."""
        pts = _points(px, 2, "pixels")
        y = (pts[..., 1] - self.cy) / self.fy
        x = (pts[..., 0] - self.cx - self.k[0, 1] * y) / self.fx
        return np.stack([x, y], axis=-1)

    def normalized_to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """Normalised coordinates (..., 2) -> undistorted pixels (K, no distortion)."""
        pts = _points(xy, 2, "normalised points")
        u = self.fx * pts[..., 0] + self.k[0, 1] * pts[..., 1] + self.cx
        v = self.fy * pts[..., 1] + self.cy
        return np.stack([u, v], axis=-1)

    # ------------------------------------------------------------------ with distortion
    def undistort_points(self, px: np.ndarray,
                         output: Literal["normalized", "pixel"] = "normalized") -> np.ndarray:
        """Raw image pixels (..., 2) -> ideal normalised coordinates, or undistorted pixels (same K).

        Points that cannot be undistorted (outside the model's invertible region) are NaN.
        """
        if output not in ("normalized", "pixel"):
            raise ValueError(f"output must be 'normalized' or 'pixel', got {output!r}")
        xy = dist.undistort(self.pixel_to_normalized(px), self.distortion_model, self.d)
        return xy if output == "normalized" else self.normalized_to_pixel(xy)

    def distort_points(self, px_undistorted: np.ndarray) -> np.ndarray:
        """Undistorted pixels (..., 2) -> raw image pixels (applies the lens model)."""
        xy = dist.distort(self.pixel_to_normalized(px_undistorted), self.distortion_model, self.d)
        return self.normalized_to_pixel(xy)

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Camera-frame points (..., 3), metres -> raw image pixels (..., 2) with distortion.

        Points at or behind the camera (z <= 0) give NaN.
        """
        pts = _points(points_cam, 3, "camera points")
        z = pts[..., 2]
        with np.errstate(invalid="ignore", divide="ignore"):
            safe = np.where(z > 0, z, np.nan)
            xy = pts[..., :2] / safe[..., None]
        return self.normalized_to_pixel(dist.distort(xy, self.distortion_model, self.d))

    def backproject(self, px: np.ndarray, depth: np.ndarray | float) -> np.ndarray:
        """Raw pixels (..., 2) and depth z (metres) -> camera-frame points (..., 3)."""
        xy = self.undistort_points(px, "normalized")
        z = np.broadcast_to(np.asarray(depth, dtype=np.float64), xy.shape[:-1])
        return np.concatenate([xy * z[..., None], z[..., None]], axis=-1)


# The undistorted radius of an image point may not be smaller than this fraction of its distorted radius: a
# lens does not magnify the whole field this much (D = [1e6, ...] would put a hand at 16 m instead of 0.5 m).
MIN_RADIUS_RATIO = 0.25


def _check_lens(camera: CameraModel) -> None:
    """Raise InvalidIntrinsics unless the distortion has a unique, plausible inverse over the image.

    Along 16 rays from the principal point to the image border the undistorted radius must exist inside the
    ellipse inscribed in the image (outside it, at the corners of a strong fisheye, a point may have no inverse
    and is reported where it is used), grow with the distorted radius (no fold) and keep at least
    :data:`MIN_RADIUS_RATIO` of it."""
    w, h = camera.width, camera.height
    angles = np.linspace(0.0, 2.0 * np.pi, 16, endpoint=False)
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    # Distance from the principal point to the image border along each ray, in pixels.
    with np.errstate(divide="ignore"):
        to_x = np.where(direction[:, 0] > 0, (w - 1 - camera.cx) / direction[:, 0],
                        np.where(direction[:, 0] < 0, -camera.cx / direction[:, 0], np.inf))
        to_y = np.where(direction[:, 1] > 0, (h - 1 - camera.cy) / direction[:, 1],
                        np.where(direction[:, 1] < 0, -camera.cy / direction[:, 1], np.inf))
    reach = np.maximum(np.minimum(to_x, to_y), 1.0)
    steps = np.linspace(0.02, 1.0, 50)
    px = camera.k[:2, 2] + direction[:, None, :] * (reach[:, None, None] * steps[None, :, None])
    xy_d = camera.pixel_to_normalized(px)
    xy = dist.undistort(xy_d, camera.distortion_model, camera.d)
    r_d, r_u = np.hypot(xy_d[..., 0], xy_d[..., 1]), np.hypot(xy[..., 0], xy[..., 1])
    rel = (px - np.array([(w - 1) / 2.0, (h - 1) / 2.0])) / np.array([w / 2.0, h / 2.0])
    inside = np.hypot(rel[..., 0], rel[..., 1]) <= 1.0
    coefficients = f"{camera.distortion_model} D={np.round(camera.d, 6).tolist()}"
    if not np.all(np.isfinite(r_u[inside])):
        raise InvalidIntrinsics(f"the lens model {coefficients} cannot be inverted over the image: points inside "
                                "the image have no undistorted position")
    with np.errstate(invalid="ignore"):
        folds = np.diff(r_u, axis=1) <= 0.0
    if np.any(folds & np.isfinite(np.diff(r_u, axis=1))):
        raise InvalidIntrinsics(f"the lens model {coefficients} folds over inside the image: two image points "
                                "undistort to rays in the wrong order")
    with np.errstate(invalid="ignore"):
        ratio = np.nanmin(r_u / r_d)
    if ratio < MIN_RADIUS_RATIO:
        raise InvalidIntrinsics(f"the lens model {coefficients} is implausible: it shrinks image radii to "
                                f"{ratio:.3g} of their distorted length (a lens magnifies by at most "
                                f"{1 / MIN_RADIUS_RATIO:.0f}x); check the calibration")


def _points(arr: np.ndarray, dim: int, what: str) -> np.ndarray:
    out = np.asarray(arr, dtype=np.float64)
    if out.ndim == 0 or out.shape[-1] != dim:
        raise ValueError(f"{what} must have shape (..., {dim}), got {np.shape(arr)}")
    return out
