"""Depth in the core: depth images (encodings, registration), robust keypoint depth samples, the fit's depth
residuals and scale, and the online hand-size calibration."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.depth import DepthImage, DepthImageError, sample_keypoint_depths
from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import at_hand_length
from hand_mesh_ros.handmodel.model import HandModel
from hand_mesh_ros.reconstruction.hand_size import HandSizeCalibrator

sys.path.insert(0, str(Path(__file__).parent))
from test_handmodel_camera_fit import error_mm, fitter, observe, posed_hands

MODEL_LENGTH, TRUE_LENGTH = 0.187, 0.200


# ------------------------------------------------------------------------------------------- depth images
def test_depth_encodings_and_invalid_values() -> None:
    mm = np.array([[0, 500], [1500, 65535]], dtype=np.uint16)
    d = DepthImage.from_array(mm, "16UC1").metres
    assert np.isnan(d[0, 0]) and d[0, 1] == pytest.approx(0.5) and d[1, 0] == pytest.approx(1.5)
    m = np.array([[np.nan, 0.0], [np.inf, 0.75]], dtype=np.float32)
    d = DepthImage.from_array(m, "32FC1").metres
    assert np.isnan(d[:, 0]).all() and np.isnan(d[0, 1]) and d[1, 1] == pytest.approx(0.75)
    with pytest.raises(DepthImageError, match="not supported"):
        DepthImage.from_array(mm, "rgb8")
    with pytest.raises(DepthImageError, match="float32"):
        DepthImage.from_array(mm, "32FC1")
    with pytest.raises(DepthImageError, match="single-channel"):
        DepthImage.from_array(np.zeros((4, 4, 3), np.uint16), "16UC1")


def test_registration_rescales_the_same_field_of_view_and_refuses_another() -> None:
    cam = CameraModel.pinhole(640, 480, 600.0)
    half = DepthImage.from_array(np.full((240, 320), 800, np.uint16), "16UC1")
    assert half.registered_to(cam).metres.shape == (480, 640)
    same = DepthImage.from_array(np.full((480, 640), 800, np.uint16), "16UC1")
    assert same.registered_to(cam) is same
    with pytest.raises(DepthImageError, match="aligned_depth_to_color"):
        DepthImage.from_array(np.full((480, 848), 800, np.uint16), "16UC1").registered_to(cam)


def test_keypoint_samples_take_the_hand_not_the_background_or_a_hole() -> None:
    rng = np.random.default_rng(0)
    depth = np.full((200, 200), 2.2, np.float32)  # a wall
    depth[40:160, 60:140] = 0.6  # the hand
    depth[95:106, 95:106] = 0.585  # a finger in front of the palm
    depth[rng.random(depth.shape) < 0.05] = np.nan  # dropout
    kp = np.zeros((1, 21, 2))
    kp[0, :, 0] = np.linspace(70, 130, 21)
    kp[0, :, 1] = np.linspace(150, 50, 21)
    kp[0, 0] = (100, 150)
    kp[0, 9] = (100, 100)  # on the finger in front
    kp[0, 20] = (61, 100)  # at the hand's edge: the window reaches the wall behind
    kp[0, 4] = (500, 500)  # outside the image
    out = sample_keypoint_depths(DepthImage(depth), kp, 0.19)
    assert np.isnan(out.depth_m[0, 4])
    assert out.depth_m[0, 9] == pytest.approx(0.585, abs=1e-6)
    assert out.depth_m[0, 20] == pytest.approx(0.6, abs=1e-6)
    others = np.delete(out.depth_m[0], [4, 9, 20])
    assert np.allclose(others[np.isfinite(others)], 0.6, atol=0.016) and np.isfinite(others).sum() >= 15


# ------------------------------------------------------------------------------------------- the fit
@pytest.fixture(scope="module")
def scene(prepared: None) -> tuple[object, np.ndarray, np.ndarray]:
    """A fitter at the default length, 12 hands 7 % larger, and the depth of their skin seen by a noisy sensor."""
    f = fitter("right", MODEL_LENGTH)
    true_model = HandModel(at_hand_length(load_hand_model_data("right"), TRUE_LENGTH))
    truth = posed_hands(true_model, 12, seed=3)
    offsets = f.surface_offsets * TRUE_LENGTH / MODEL_LENGTH
    skin = truth[..., 2] * (1 - offsets / np.linalg.norm(truth, axis=-1))
    rng = np.random.default_rng(1)
    depth = skin + rng.normal(0.0, 0.002 * skin**2)
    depth[rng.random(depth.shape) < 0.2] = np.nan
    return f, truth, depth


def test_depth_measures_the_scale_and_places_the_hand(scene: tuple) -> None:
    f, truth, depth = scene
    obs = observe(truth)
    mono = f.fit(obs)
    fused = f.fit(dataclasses.replace(obs, depth_m=depth))
    mono_err, fused_err = error_mm(mono.keypoints, truth), error_mm(fused.keypoints, truth)
    # monocular at a 6.5 % too small hand length sits 6.5 % too near (~30 mm); depth removes it
    assert np.median(mono_err) > 20.0 and np.median(fused_err) < 4.0 and fused_err.max() < 8.0
    assert np.abs(fused.scale / (TRUE_LENGTH / MODEL_LENGTH) - 1).max() < 0.03
    np.testing.assert_allclose(mono.scale, 1.0)
    # the projection is what the image shows either way
    assert np.median(fused.reprojection) * 600.0 < 2.0
    warm = f.fit(dataclasses.replace(obs, depth_m=depth), init=fused)
    assert np.median(error_mm(warm.keypoints, truth)) < 4.0


def test_outlying_depth_samples_and_missing_depth(scene: tuple) -> None:
    f, truth, depth = scene
    obs = observe(truth)
    bad = depth.copy()
    bad[:, [8, 12]] -= 0.08  # an occluder 8 cm in front of two fingertips
    fused = f.fit(dataclasses.replace(obs, depth_m=bad))
    assert np.median(error_mm(fused.keypoints, truth)) < 5.0
    none = f.fit(dataclasses.replace(obs, depth_m=np.full_like(depth, np.nan)), scale=1.05)
    np.testing.assert_allclose(none.scale, 1.05, rtol=1e-6)  # no sample: the prior alone sets the scale
    held = f.fit(dataclasses.replace(obs, depth_m=depth), scale=1.0, scale_sd=0.002)
    assert np.abs(held.scale - 1.0).max() < 0.01  # a fixed size is kept; depth only places the hand
    with pytest.raises(ValueError, match="depth_m"):
        dataclasses.replace(obs, depth_m=depth[:, :20])
    with pytest.raises(ValueError, match="scale"):
        f.fit(obs, scale=0.0)


def test_scale_without_depth_scales_about_the_camera(scene: tuple) -> None:
    f, truth, _ = scene
    obs = observe(truth)
    one, bigger = f.fit(obs), f.fit(obs, scale=1.1)
    np.testing.assert_allclose(bigger.keypoints, one.keypoints * 1.1, rtol=1e-9)
    np.testing.assert_allclose(bigger.fit_result(10).keypoints, one.fit_result(10).keypoints, rtol=1e-9)


# ------------------------------------------------------------------------------------------- calibration
def test_calibration_locks_when_estimates_agree_and_not_before() -> None:
    rng = np.random.default_rng(0)
    cal = HandSizeCalibrator("right", 0.187, enabled=True)
    assert cal.state().source == "configured" and cal.length_m == 0.187
    locked_at = None
    for i in range(100):
        if cal.add(0.2 * (1 + rng.normal(0, 0.01))):
            locked_at = i
            break
    assert locked_at is not None and 19 <= locked_at < 40
    state = cal.state()
    assert state.source == "calibrated" and state.length_m == pytest.approx(0.2, rel=0.005)
    assert not cal.add(0.1) and cal.length_m == state.length_m  # locked: kept
    drifting = HandSizeCalibrator("left", 0.187, enabled=True)
    assert not any(drifting.add(0.17 + 0.001 * i) for i in range(30))  # estimates still moving: no lock
    assert drifting.state().source == "calibrating" and drifting.state().samples == 30
    fixed = HandSizeCalibrator("right", 0.187, enabled=False)
    assert not any(fixed.add(0.2) for _ in range(50)) and fixed.state().source == "configured"


def test_hands_keep_the_configured_size_until_the_lock_and_implausible_sizes_are_refused() -> None:
    cal = HandSizeCalibrator("right", 0.187, enabled=True)
    assert not cal.add(0.29)  # 1.55 times the configured length: depth in the wrong scale, not a hand
    assert cal.state().source == "configured" and cal.state().samples == 0
    for _ in range(5):
        cal.add(0.2)
    state = cal.state()
    assert state.source == "calibrating" and state.length_m == pytest.approx(0.2) and state.samples == 5
    assert cal.length_m == 0.187  # not placed with a few unconfirmed estimates
    assert cal.plausible(0.187 * 1.29) and cal.plausible(0.187 / 1.29)
    assert not cal.plausible(0.187 * 1.31) and not cal.plausible(0.187 / 1.31) and not cal.plausible(float("nan"))
