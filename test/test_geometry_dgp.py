"""Global positioning: exact recovery, noise bounds, degenerate input, torch path, hand-size scaling."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.geometry.dgp import (
    DGPStatus,
    locate_hand,
    solve_translation,
)


def synthetic_hand(seed: int = 0) -> np.ndarray:
    """A plausible 21-joint right hand (metres, wrist at origin, fingers up = -y), slightly curled in z."""
    rng = np.random.default_rng(seed)
    joints = np.zeros((21, 3))
    bases = {1: (-0.035, -0.025), 5: (-0.025, -0.09), 9: (-0.003, -0.095), 13: (0.017, -0.088),
             17: (0.035, -0.08)}
    for base, (x, y) in bases.items():
        joints[base] = [x, y, rng.uniform(-0.01, 0.01)]
        direction = np.array([x * 0.6, y, 0.0])
        direction /= np.linalg.norm(direction)
        for k in range(1, 4):
            bend = np.array([0.0, 0.0, 0.25 * k * rng.uniform(0.5, 1.0)])
            step = direction + bend
            joints[base + k] = joints[base + k - 1] + 0.03 * step / np.linalg.norm(step)
    return joints


CAM = CameraModel(1280, 720, np.array([[920.0, 0, 640], [0, 925.0, 362], [0, 0, 1]]),
                  np.array([-0.12, 0.03, 0.0005, -0.0004, 0.0]), "plumb_bob")
TRUE_T = np.array([[0.12, -0.05, 0.55], [-0.3, 0.15, 1.4], [0.0, 0.0, 0.35], [0.25, 0.2, 0.9]])


def _batch() -> tuple[np.ndarray, np.ndarray]:
    rel = np.stack([synthetic_hand(i) for i in range(len(TRUE_T))])
    return rel, CAM.project(rel + TRUE_T[:, None])


@pytest.mark.parametrize("refine", [False, True])
def test_exact_recovery_with_distortion(refine: bool) -> None:
    rel, px = _batch()
    res = locate_hand(CAM, px, rel, refine=refine)
    assert np.all(res.status == DGPStatus.OK)
    assert np.max(np.abs(res.translation - TRUE_T)) < 1e-9
    assert np.all(res.reprojection_rms < 1e-6)


def test_noise_bound() -> None:
    """1 px keypoint noise at 0.3-1.5 m: translation within 3 % of the distance (100 trials)."""
    rng = np.random.default_rng(7)
    rel, px = _batch()
    worst = 0.0
    for _ in range(100):
        res = locate_hand(CAM, px + rng.normal(0, 1.0, px.shape), rel)
        rel_err = np.linalg.norm(res.translation - TRUE_T, axis=1) / np.linalg.norm(TRUE_T, axis=1)
        worst = max(worst, float(rel_err.max()))
    assert worst < 0.03


def test_refinement_lowers_reprojection_error_with_biased_joints() -> None:
    rel, px = _batch()
    wrong = rel * np.array([1.0, 1.0, 2.5])  # a depth-exaggerated shape: linear residual is not pixel error
    lin = locate_hand(CAM, px, wrong, refine=False)
    ref = locate_hand(CAM, px, wrong, refine=True)
    assert np.all(ref.reprojection_rms <= lin.reprojection_rms + 1e-9)
    assert np.mean(ref.reprojection_rms) < np.mean(lin.reprojection_rms) - 0.05  # pixels


def test_zero_weight_outlier_is_ignored() -> None:
    rel, px = _batch()
    bad = px.copy()
    bad[:, 8] += 150.0
    w = np.ones(bad.shape[:2])
    w[:, 8] = 0.0
    assert np.max(np.abs(locate_hand(CAM, bad, rel, w).translation - TRUE_T)) < 1e-9
    assert np.max(np.abs(locate_hand(CAM, bad, rel).translation - TRUE_T)) > 1e-3


def test_degenerate_inputs_fall_back_with_flags() -> None:
    rel, px = _batch()
    uv = CAM.undistort_points(px[:1], "normalized")
    w = np.zeros((1, 21))
    w[0, :2] = 1.0  # two joints only: the 3x3 system is singular
    res = solve_translation(uv, rel[:1], w)
    assert res.status[0] == DGPStatus.FALLBACK_SIZE and np.all(np.isfinite(res.translation))
    # all image points identical and no previous: nothing can be said
    same = np.repeat(uv[:, :1], 21, axis=1)
    flat = np.zeros_like(rel[:1])
    res = solve_translation(same, flat)
    assert res.status[0] == DGPStatus.FAILED and np.all(np.isnan(res.translation))
    res = solve_translation(same, flat, previous=np.array([0.1, 0.2, 0.5]))
    assert res.status[0] == DGPStatus.FALLBACK_PREVIOUS and np.allclose(res.translation[0], [0.1, 0.2, 0.5])
    # NaN keypoints are dropped, the rest still solve exactly
    uv_nan = CAM.undistort_points(px, "normalized")
    uv_nan[:, 3] = np.nan
    assert np.max(np.abs(solve_translation(uv_nan, rel).translation - TRUE_T)) < 1e-9


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match="joints must have shape"):
        solve_translation(np.zeros((21, 2)), np.zeros((20, 3)))
    with pytest.raises(ValueError, match="weights"):
        solve_translation(np.zeros((21, 2)), np.zeros((21, 3)), -np.ones(21))


def test_depth_scales_linearly_with_hand_size() -> None:
    rel, px = _batch()
    base = locate_hand(CAM, px, rel).translation
    res = locate_hand(CAM, px, 1.1 * rel).translation
    assert np.allclose(res, 1.1 * base, atol=1e-9)
