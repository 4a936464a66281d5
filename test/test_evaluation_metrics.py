"""Metrics against small hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.evaluation import metrics as m


def _rot(axis: np.ndarray, angle: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def test_mpjpe_root_depth_and_2d() -> None:
    gt = np.zeros((1, 3, 3))
    pred = gt.copy()
    pred[0, :, 0] = 3.0
    pred[0, :, 2] = 4.0  # every joint 5 mm off
    assert m.mpjpe(pred, gt)[0] == pytest.approx(5.0)
    assert m.root_error(pred, gt)[0] == pytest.approx(5.0)
    assert m.depth_error(pred, gt)[0] == pytest.approx(4.0)
    assert m.rr_mpjpe(pred, gt)[0] == pytest.approx(0.0)  # a pure translation
    assert m.epe_2d(np.array([[[0.0, 0.0], [3.0, 4.0]]]), np.zeros((1, 2, 2)))[0] == pytest.approx(2.5)


def test_pa_mpjpe_of_rotated_scaled_translated_copy_is_zero() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(0, 50, (4, 21, 3))
    r = _rot(np.array([0.3, -1.0, 0.5]), 1.2)
    pred = 1.7 * gt @ r.T + np.array([10.0, -5.0, 300.0])
    assert np.allclose(m.pa_mpjpe(pred, gt), 0.0, atol=1e-9)
    assert np.all(m.mpjpe(pred, gt) > 10)
    # a reflection is not a rotation: PA cannot undo it
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert np.all(m.pa_mpjpe(mirrored, gt) > 1.0)
    # without scale, a scaled copy keeps an error
    assert np.all(m.mpjpe(m.procrustes_align(2 * gt, gt, scale=False), gt) > 1.0)


def test_f_score_hand_case() -> None:
    gt = np.array([[[0.0, 0, 0], [10.0, 0, 0], [20.0, 0, 0], [30.0, 0, 0]]])
    pred = gt + np.array([[[1.0, 0, 0], [2.0, 0, 0], [8.0, 0, 0], [100.0, 0, 0]]])
    # pred at 1, 12, 28, 130: nearest-gt distances 1, 2, 2, 100 -> precision 3/4 at 5 mm, 3/4 at 15 mm
    # gt at 0, 10, 20, 30: nearest-pred distances 1, 2, 8, 2 -> recall 3/4 at 5 mm, 1 at 15 mm
    assert m.f_score(pred, gt, 5.0)[0] == pytest.approx(0.75)
    assert m.f_score(pred, gt, 15.0)[0] == pytest.approx(2 * 0.75 * 1.0 / 1.75)
    with pytest.raises(ValueError):
        m.f_score(pred, gt, 0.0)


def test_pck_and_auc() -> None:
    errors = np.array([0.0, 10.0, 20.0, np.nan])
    th = np.array([0.0, 10.0, 20.0])
    assert np.allclose(m.pck_curve(errors, th), [0.25, 0.5, 0.75])
    assert m.auc(th, m.pck_curve(errors, th)) == pytest.approx((0.25 + 0.5) / 4 + (0.5 + 0.75) / 4)
    assert m.auc(m.PCK_3D_MM, np.ones_like(m.PCK_3D_MM)) == pytest.approx(1.0)


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="pred and gt"):
        m.mpjpe(np.zeros((2, 21, 3)), np.zeros((2, 20, 3)))
    with pytest.raises(ValueError, match="dimension 3"):
        m.pa_mpjpe(np.zeros((1, 21, 2)), np.zeros((1, 21, 2)))
