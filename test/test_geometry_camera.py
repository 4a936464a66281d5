"""CameraModel: CameraInfo fields, validation, distortion round trips and agreement with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel, InvalidIntrinsics

K = np.array([[610.0, 0.0, 322.5], [0.0, 605.0, 241.0], [0.0, 0.0, 1.0]])
MODELS = {
    "plumb_bob": [-0.28, 0.09, 0.0012, -0.0008, -0.012],
    "rational_polynomial": [0.45, -0.08, 0.001, 0.0015, 0.01, 0.75, -0.04, 0.02],
    "equidistant": [-0.03, 0.012, -0.006, 0.001],
}


def _grid(w: int, h: int, step: int = 16) -> np.ndarray:
    u, v = np.meshgrid(np.arange(0, w, step, dtype=float), np.arange(0, h, step, dtype=float))
    return np.stack([u.ravel(), v.ravel()], -1)


@pytest.mark.parametrize("model", list(MODELS))
def test_distortion_round_trip_below_1e6_px(model: str) -> None:
    cam = CameraModel(640, 480, K, np.array(MODELS[model]), model)
    px = _grid(640, 480)
    und = cam.undistort_points(px, "pixel")
    assert np.all(np.isfinite(und))
    back = cam.distort_points(und)
    assert np.max(np.abs(back - px)) < 1e-6
    # and the other way round: ideal points -> distorted -> undistorted
    ideal = _grid(640, 480, 40) * 0.8 + 40
    again = cam.undistort_points(cam.distort_points(ideal), "pixel")
    assert np.max(np.abs(again - ideal)) < 1e-6
    assert np.max(np.abs(und - px)) > 1.0  # the lens model really distorts


@pytest.mark.parametrize("model", list(MODELS))
def test_projection_matches_opencv(model: str) -> None:
    cam = CameraModel(640, 480, K, np.array(MODELS[model]), model)
    rng = np.random.default_rng(3)
    pts = np.column_stack([rng.uniform(-0.3, 0.3, 50), rng.uniform(-0.2, 0.2, 50), rng.uniform(0.4, 1.5, 50)])
    ours = cam.project(pts)
    if model == "equidistant":
        ref, _ = cv2.fisheye.projectPoints(pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), K, cam.d)
    else:
        ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), K, cam.d)
    assert np.max(np.abs(ours - ref.reshape(-1, 2))) < 1e-6


def test_project_behind_camera_is_nan_and_backproject_inverts() -> None:
    cam = CameraModel(640, 480, K, np.array(MODELS["plumb_bob"]), "plumb_bob")
    px = cam.project(np.array([[0.1, 0.0, -1.0], [0.05, -0.02, 0.7]]))
    assert np.all(np.isnan(px[0])) and np.all(np.isfinite(px[1]))
    assert np.allclose(cam.backproject(px[1], 0.7), [0.05, -0.02, 0.7], atol=1e-9)


def test_camera_info_binning_and_roi() -> None:
    k_full = np.diag([2.0, 2.0, 1.0]) @ K  # calibrated at 1280x960
    full = CameraModel.from_camera_info_fields(1280, 960, "plumb_bob", MODELS["plumb_bob"], k_full.ravel())
    binned = CameraModel.from_camera_info_fields(1280, 960, "plumb_bob", MODELS["plumb_bob"], full.k.ravel(),
                                                 binning_x=2, binning_y=2, roi_x_offset=100, roi_y_offset=60,
                                                 roi_width=800, roi_height=600)
    assert (binned.width, binned.height) == (400, 300)
    pts = np.array([[0.02, 0.01, 0.6], [-0.05, 0.03, 0.5]])
    expected = (full.project(pts) - [100, 60]) / 2.0  # pixel centres conventions aside: the CameraInfo maths
    assert np.allclose(binned.project(pts), expected, atol=1e-9)
    no_roi = CameraModel.from_camera_info_fields(1280, 960, "plumb_bob", [], full.k.ravel(), binning_x=0)
    assert (no_roi.width, no_roi.height) == (1280, 960) and not no_roi.has_distortion


@pytest.mark.parametrize(
    "k",
    [np.zeros(9), np.array([0.0, 0, 320, 0, 600, 240, 0, 0, 1]),
     np.array([-600.0, 0, 320, 0, 600, 240, 0, 0, 1]),
     np.array([600.0, 0, np.nan, 0, 600, 240, 0, 0, 1]), np.ones(8)],
)
def test_invalid_intrinsics_refused(k: np.ndarray) -> None:
    with pytest.raises(InvalidIntrinsics):
        CameraModel.from_camera_info_fields(640, 480, "plumb_bob", [], k)


def test_invalid_distortion_and_roi_refused() -> None:
    with pytest.raises(InvalidIntrinsics, match="unsupported"):
        CameraModel(640, 480, K, np.array([0.1, 0, 0, 0]), "kannala_brandt_unknown")
    with pytest.raises(InvalidIntrinsics, match="finite"):
        CameraModel(640, 480, K, np.array([0.1, np.nan, 0, 0, 0]), "plumb_bob")
    with pytest.raises(InvalidIntrinsics, match="ROI"):
        CameraModel.from_camera_info_fields(640, 480, "plumb_bob", [], K.ravel(), roi_x_offset=600,
                                            roi_width=100)
    with pytest.raises(InvalidIntrinsics):
        CameraModel(0, 480, K)


def test_check_image_size_and_bad_points() -> None:
    cam = CameraModel.pinhole(640, 480, 500.0)
    cam.check_image_size(640, 480)
    with pytest.raises(InvalidIntrinsics, match="640x480"):
        cam.check_image_size(480, 640)
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\)"):
        cam.project(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="output"):
        cam.undistort_points(np.zeros((1, 2)), "metres")  # type: ignore[arg-type]
