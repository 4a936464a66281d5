"""Rectified crops: homography, rotation and point mappings agree with the virtual pinhole camera."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.rectify import rectified_crop, warp_rectified

CAM = CameraModel.pinhole(1280, 720, 900.0, 910.0, 650.0, 350.0)


def _virtual_project(crop, points_real: np.ndarray) -> np.ndarray:
    pv = crop.points_to_virtual(points_real)
    return (pv[:, :2] / pv[:, 2:3]) * crop.k_crop[0, 0] + crop.k_crop[:2, 2]


def test_rotation_and_centre() -> None:
    crop = rectified_crop(CAM, (1100.0, 600.0), 200.0, angle_rad=0.4)
    r = crop.r_virtual_to_real
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(r), 1.0)
    # the virtual optical axis is the ray through the region centre
    ray = np.array([(1100.0 - CAM.cx) / CAM.fx, (600.0 - CAM.cy) / CAM.fy, 1.0])
    assert np.allclose(r[:, 2], ray / np.linalg.norm(ray), atol=1e-12)
    assert np.allclose(crop.real_to_crop(np.array([1100.0, 600.0])), [112.0, 112.0], atol=1e-9)


def test_homography_matches_virtual_camera_and_inverts() -> None:
    crop = rectified_crop(CAM, (200.0, 120.0), 260.0, angle_rad=-1.1, out_size=224)
    rng = np.random.default_rng(0)
    pts = np.column_stack([rng.uniform(-0.6, -0.3, 30), rng.uniform(-0.4, -0.1, 30),
                           rng.uniform(0.8, 1.2, 30)])
    real_px = CAM.project(pts)
    crop_px = crop.real_to_crop(real_px)
    assert np.allclose(crop_px, _virtual_project(crop, pts), atol=1e-8)
    assert np.allclose(crop.crop_to_real(crop_px), real_px, atol=1e-8)
    assert np.allclose(crop.points_to_real(crop.points_to_virtual(pts)), pts, atol=1e-12)


def test_angle_convention_and_scale_at_principal_point() -> None:
    # At the principal point the rectified crop is the affine crop: +x of the crop points along the angle.
    crop = rectified_crop(CAM, (CAM.cx, CAM.cy), 224.0, angle_rad=np.pi / 2)  # crop focal = sqrt(fx fy)
    step = crop.crop_to_real(np.array([[112.0, 112.0], [122.0, 112.0]]))
    d = step[1] - step[0]
    assert abs(d[0]) < 1e-9 and d[1] > 0  # crop +x is image +y for a quarter turn
    assert np.isclose(np.linalg.norm(d), 10.0 * CAM.fy / np.sqrt(CAM.fx * CAM.fy), rtol=1e-9)
    assert np.isclose(crop.depth_scale, np.sqrt(CAM.fx * CAM.fy) / 1000.0)


def test_warp_samples_the_right_pixels_with_distortion() -> None:
    cam = CameraModel(320, 240, np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]]),
                      np.array([-0.2, 0.05, 0, 0, 0]), "plumb_bob")
    u, v = np.meshgrid(np.arange(320), np.arange(240))
    image = np.stack([u, v, np.zeros_like(u)], -1).astype(np.float32)  # pixel coordinates as colours
    crop = rectified_crop(cam, (220.0, 90.0), 80.0, angle_rad=0.3, out_size=64)
    out = warp_rectified(image, cam, crop)
    # crop pixel (40, 20) -> ray -> raw pixel; the warp must have sampled exactly there
    ray = crop.points_to_real(np.array([(40 - 32) / crop.k_crop[0, 0], (20 - 32) / crop.k_crop[1, 1], 1.0]))
    assert np.allclose(out[20, 40, :2], cam.project(ray), atol=1e-2)
    with pytest.raises(ValueError):
        warp_rectified(image[:100], cam, crop)


def test_bad_region_refused() -> None:
    with pytest.raises(ValueError, match="size_px"):
        rectified_crop(CAM, (10.0, 10.0), 0.0)
    with pytest.raises(ValueError, match="center_px"):
        rectified_crop(CAM, (np.nan, 10.0), 50.0)
