"""Perspective rectification of a hand crop to a virtual camera looking straight at the hand (HandDGP idea).

The virtual camera shares the real camera's centre. Its optical axis is the ray through the hand-region
centre and it is rolled by the region's in-plane angle, so the hand appears upright and without the
perspective skew that an off-axis affine crop keeps. Maps:

* real *undistorted* pixels -> crop pixels: ``H = K_crop @ R_virtual_to_real.T @ K^-1`` (a homography);
* a 3D point predicted in the virtual frame -> real camera frame: ``X_real = R_virtual_to_real @ X_virtual``.

Angle convention: ``angle_rad`` is the direction, in the real image (pixels, y down), of the crop's +x axis
measured from the image +x axis towards +y; 0 keeps the image orientation (the affine crop convention).

The crop's focal length is ``f_ref * out_size / size_px`` with ``f_ref = sqrt(fx * fy)``: the crop samples the
image at the same density as an affine crop of ``size_px`` pixels would at the region centre. The canonical
focal length (default 1000 px) defines the *canonical camera* HandDGP trains with: the hand box would be
``canonical_box_px = size_px * f_canonical / f_ref`` pixels wide in it, and
``depth_scale = f_ref / f_canonical`` converts a depth estimated as if seen by the canonical camera
into the real camera's depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from hand_mesh_ros.geometry.camera import CameraModel

DEFAULT_CANONICAL_FOCAL_PX = 1000.0
DEFAULT_CROP_SIZE_PX = 224


@dataclass(frozen=True, eq=False)
class RectifiedCrop:
    """Geometry of one rectified crop (all matrices float64)."""

    h_real_to_crop: np.ndarray  # 3x3, real undistorted px -> crop px
    h_crop_to_real: np.ndarray  # 3x3, inverse
    r_virtual_to_real: np.ndarray  # 3x3 rotation, virtual camera frame -> real camera frame
    k_crop: np.ndarray  # 3x3 intrinsics of the virtual camera on the crop grid
    out_size: int  # crop side, px
    canonical_focal_px: float
    canonical_box_px: float  # hand box side as the canonical camera would see it, px
    depth_scale: float  # z_real = depth_scale * z_canonical

    def real_to_crop(self, px_undistorted: np.ndarray) -> np.ndarray:
        """Real undistorted pixels (..., 2) -> crop pixels (..., 2)."""
        return apply_homography(self.h_real_to_crop, px_undistorted)

    def crop_to_real(self, px_crop: np.ndarray) -> np.ndarray:
        """Crop pixels (..., 2) -> real undistorted pixels (..., 2)."""
        return apply_homography(self.h_crop_to_real, px_crop)

    def points_to_real(self, points_virtual: np.ndarray) -> np.ndarray:
        """3D points or directions (..., 3) in the virtual camera frame -> real camera frame (metres)."""
        pts = np.asarray(points_virtual, dtype=np.float64)
        if pts.shape[-1] != 3:
            raise ValueError(f"points must have shape (..., 3), got {pts.shape}")
        return pts @ self.r_virtual_to_real.T

    def points_to_virtual(self, points_real: np.ndarray) -> np.ndarray:
        """3D points (..., 3) in the real camera frame -> virtual camera frame."""
        pts = np.asarray(points_real, dtype=np.float64)
        if pts.shape[-1] != 3:
            raise ValueError(f"points must have shape (..., 3), got {pts.shape}")
        return pts @ self.r_virtual_to_real


def apply_homography(h: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Apply a 3x3 homography to points (..., 2); points mapped to infinity give NaN."""
    pts = np.asarray(px, dtype=np.float64)
    if pts.ndim == 0 or pts.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {pts.shape}")
    hom = pts @ h[:, :2].T + h[:, 2]
    w = hom[..., 2:3]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(w) > 1e-12, hom[..., :2] / w, np.nan)


def rotation_to_axis(ray: np.ndarray) -> np.ndarray:
    """Smallest rotation R with ``R @ [0, 0, 1] = ray / |ray|`` (ray must point forward, z > 0)."""
    r = np.asarray(ray, dtype=np.float64).reshape(3)
    n = np.linalg.norm(r)
    if not np.isfinite(n) or n < 1e-12 or r[2] <= 0:
        raise ValueError(f"ray must be finite and point forward (z > 0), got {r.tolist()}")
    r = r / n
    axis = np.array([-r[1], r[0], 0.0])  # e_z x r
    s = np.linalg.norm(axis)
    c = r[2]
    if s < 1e-15:
        return np.eye(3)
    axis /= s
    kx = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    return np.eye(3) + s * kx + (1.0 - c) * (kx @ kx)


def rectified_crop(
    camera: CameraModel,
    center_px: np.ndarray | tuple[float, float],
    size_px: float,
    angle_rad: float = 0.0,
    canonical_focal_px: float = DEFAULT_CANONICAL_FOCAL_PX,
    out_size: int = DEFAULT_CROP_SIZE_PX,
    center_is_distorted: bool = True,
) -> RectifiedCrop:
    """Build the rectified crop for a hand region given in the real image.

    ``center_px``: region centre in raw image pixels (undistorted first when ``center_is_distorted``).
    ``size_px``: side of the square region, pixels. ``angle_rad``: in-plane rotation (see module doc).
    """
    c = np.asarray(center_px, dtype=np.float64).reshape(-1)
    if c.size != 2 or not np.all(np.isfinite(c)):
        raise ValueError(f"center_px must be two finite numbers, got {center_px!r}")
    if not np.isfinite(size_px) or size_px <= 0:
        raise ValueError(f"size_px must be positive, got {size_px}")
    if not np.isfinite(angle_rad):
        raise ValueError(f"angle_rad must be finite, got {angle_rad}")
    if canonical_focal_px <= 0 or out_size <= 0:
        raise ValueError(f"canonical_focal_px and out_size must be positive, "
                         f"got {canonical_focal_px}, {out_size}")
    xy = camera.undistort_points(c, "normalized") if center_is_distorted else camera.pixel_to_normalized(c)
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"region centre {c.tolist()} lies outside the lens model's valid region")
    r_align = rotation_to_axis(np.array([xy[0], xy[1], 1.0]))
    ca, sa = np.cos(angle_rad), np.sin(angle_rad)
    r_roll = np.array([[ca, -sa, 0.0], [sa, ca, 0.0], [0.0, 0.0, 1.0]])
    r_v2r = r_align @ r_roll
    f_ref = float(np.sqrt(camera.fx * camera.fy))
    f_crop = f_ref * out_size / float(size_px)
    half = out_size / 2.0
    k_crop = np.array([[f_crop, 0.0, half], [0.0, f_crop, half], [0.0, 0.0, 1.0]])
    k_inv = np.linalg.inv(camera.k)
    h = k_crop @ r_v2r.T @ k_inv
    h /= h[2, 2]
    h_inv = np.linalg.inv(h)
    h_inv /= h_inv[2, 2]
    return RectifiedCrop(h, h_inv, r_v2r, k_crop, int(out_size), float(canonical_focal_px),
                         float(size_px) * canonical_focal_px / f_ref, f_ref / canonical_focal_px)


def rectify_maps(camera: CameraModel, crop: RectifiedCrop) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap maps (float32, out_size x out_size) sampling the *raw* image: undoes lens distortion too."""
    n = crop.out_size
    u, v = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64))
    kc = crop.k_crop
    rays_v = np.stack([(u - kc[0, 2]) / kc[0, 0], (v - kc[1, 2]) / kc[1, 1], np.ones_like(u)], axis=-1)
    px = camera.project(rays_v @ crop.r_virtual_to_real.T)
    px = np.nan_to_num(px, nan=-1e6)
    return px[..., 0].astype(np.float32), px[..., 1].astype(np.float32)


def warp_rectified(image: np.ndarray, camera: CameraModel, crop: RectifiedCrop) -> np.ndarray:
    """Sample the rectified crop (out_size x out_size) from a raw image (H x W or H x W x C)."""
    if image.ndim not in (2, 3):
        raise ValueError(f"image must be HxW or HxWxC, got shape {image.shape}")
    camera.check_image_size(image.shape[1], image.shape[0])
    mx, my = rectify_maps(camera, crop)
    return cv2.remap(image, mx, my, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
