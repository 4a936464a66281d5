"""Second positioning pass on fitted model keypoints: exact recovery, fixed size, weights, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import DGPStatus
from hand_mesh_ros.geometry.hand_size import palm_size
from hand_mesh_ros.geometry.model_position import FITTED_JOINT_WEIGHTS, position_fitted_hand

CAM = CameraModel(640, 480, np.array([[600.0, 0, 321], [0, 605.0, 238], [0, 0, 1]]),
                  np.array([-0.1, 0.02, 0.0003, -0.0002, 0.0]), "plumb_bob")


def hand(seed: int = 0) -> np.ndarray:
    """A plausible right hand (metres, wrist at the origin, fingers towards -y, a little curl in z)."""
    rng = np.random.default_rng(seed)
    j = np.zeros((21, 3))
    for base, (x, y) in {1: (-0.035, -0.025), 5: (-0.025, -0.09), 9: (-0.003, -0.095), 13: (0.017, -0.088),
                         17: (0.035, -0.08)}.items():
        j[base] = [x, y, rng.uniform(-0.01, 0.01)]
        d = np.array([0.6 * x, y, 0.0]) / np.hypot(0.6 * x, y)
        for k in range(1, 4):
            step = d + np.array([0.0, 0.0, 0.3 * k * rng.uniform(0.5, 1.0)])
            j[base + k] = j[base + k - 1] + 0.028 * step / np.linalg.norm(step)
    return j


@pytest.mark.parametrize("t", [(0.05, -0.03, 0.45), (-0.2, 0.1, 0.9)])
def test_recovers_position_from_offset_and_mis_scaled_model(t: tuple[float, float, float]) -> None:
    true = hand(1) + np.asarray(t)
    kp = CAM.project(true)
    true_palm = float(palm_size(true - true[0]))
    # the fit came out 8 % too large and somewhere else: rescaling and positioning must undo both
    model = (true - true[0]) * 1.08 + np.array([0.3, -0.1, 2.0])
    res = position_fitted_hand(CAM, kp, model, true_palm)
    assert res.ok
    assert int(res.dgp.status[0]) == DGPStatus.OK
    np.testing.assert_allclose(res.joints_cam, true, atol=1e-7)
    np.testing.assert_allclose(res.translation, true[0], atol=1e-7)
    assert res.scale == pytest.approx(1 / 1.08, rel=1e-9)


def test_published_size_is_the_requested_palm_and_depth_scales_with_it() -> None:
    true = hand(2) + np.array([0.02, 0.01, 0.5])
    kp = CAM.project(true)
    palm = float(palm_size(true - true[0]))
    a = position_fitted_hand(CAM, kp, true, palm)
    b = position_fitted_hand(CAM, kp, true * 3.0, 1.1 * palm)
    assert float(palm_size(b.joints_cam - b.joints_cam[0])) == pytest.approx(1.1 * palm, rel=1e-9)
    # positioning is homogeneous in size: 10 % larger hand -> 10 % further away, same rays
    np.testing.assert_allclose(b.joints_cam, 1.1 * a.joints_cam, atol=1e-9)


def test_low_weight_joints_barely_move_the_solution() -> None:
    true = hand(3) + np.array([-0.05, 0.04, 0.6])
    kp = CAM.project(true)
    bad = kp.copy()
    bad[0] += (25.0, -20.0)  # wrist keypoint off by 32 px (the joint whose definition differs most)
    palm = float(palm_size(true - true[0]))
    uniform = position_fitted_hand(CAM, bad, true, palm, weights=None)
    weighted = position_fitted_hand(CAM, bad, true, palm)  # default FITTED_JOINT_WEIGHTS
    dropped = position_fitted_hand(CAM, bad, true, palm, weights=np.r_[0.0, np.ones(20)])
    err = {name: float(np.linalg.norm(r.translation - true[0]))
           for name, r in (("uniform", uniform), ("weighted", weighted), ("dropped", dropped))}
    assert err["dropped"] < 1e-7
    assert err["weighted"] < err["uniform"]


def test_default_weights_are_read_only_and_favour_finger_joints() -> None:
    w = FITTED_JOINT_WEIGHTS
    assert w.shape == (21,) and np.all(w > 0) and w.max() == 1.0
    assert w[0] == w.min()  # wrist
    assert np.all(w[[8, 12, 16, 20]] < w[[6, 10, 14, 18]])  # tips below PIPs
    with pytest.raises(ValueError):
        w[0] = 1.0


def test_bad_input_is_refused_with_clear_errors() -> None:
    true = hand(4) + np.array([0.0, 0.0, 0.5])
    kp = CAM.project(true)
    with pytest.raises(ValueError, match="model_joints_m"):
        position_fitted_hand(CAM, kp, true[:20], 0.09)
    nan_model = true.copy()
    nan_model[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        position_fitted_hand(CAM, kp, nan_model, 0.09)
    with pytest.raises(ValueError, match="keypoints_px"):
        position_fitted_hand(CAM, kp[:, :1], true, 0.09)
    for size in (0.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="palm_size_m"):
            position_fitted_hand(CAM, kp, true, size)
    with pytest.raises(ValueError, match="no palm"):
        position_fitted_hand(CAM, kp, np.zeros((21, 3)), 0.09)
