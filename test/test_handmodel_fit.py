"""Keypoint fitting: recovers poses, reduces noise, warm-starts, calibrates shape, rejects bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hand_mesh_ros.handmodel import HandBatch, HandFitter, HandModel, load_hand_model
from hand_mesh_ros.handmodel.limits import random_plausible_pose
from hand_mesh_ros.paths import data_dir


@pytest.fixture(scope="module")
def model(prepared: None) -> HandModel:
    return load_hand_model("right", None)


def synthetic(
    model: HandModel, batch: int, seed: int, betas_scale: float = 0.0
) -> tuple[HandBatch, np.random.Generator]:
    rng = np.random.default_rng(seed)
    hand_pose = random_plausible_pose(model.data.bone_frames, batch, rng)
    go = rng.normal(size=(batch, 3))
    transl = rng.normal(scale=0.1, size=(batch, 3)) + np.array([0.0, 0.0, 0.5])
    betas = rng.normal(scale=betas_scale, size=(batch, 10)) if betas_scale else None
    gt = model(go, hand_pose, betas, transl, with_vertices=False)
    return gt, rng


def mean_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b, axis=-1).mean())


def test_recovers_clean_poses(model: HandModel) -> None:
    gt, _ = synthetic(model, 32, 0)
    fit = HandFitter(model).fit(gt.keypoints)
    assert mean_error(fit.keypoints, gt.keypoints) < 0.002
    assert float(fit.residual.max()) < 0.006
    # the fitted parameters reproduce the fitted keypoints through the model
    again = model.forward_rotations(fit.rot_local, fit.betas, fit.transl, with_vertices=False)
    np.testing.assert_allclose(again.keypoints, fit.keypoints, atol=1e-9)
    # wrist position and global orientation are close to the truth
    assert float(np.abs(fit.transl - gt.transl).max()) < 0.01


def test_noise_is_reduced(model: HandModel) -> None:
    gt, _ = synthetic(model, 64, 1)
    noisy = gt.keypoints + 0.01 * np.random.default_rng(0).normal(size=gt.keypoints.shape)
    fit = HandFitter(model).fit(noisy)
    input_err = mean_error(noisy, gt.keypoints)
    fit_err = mean_error(fit.keypoints, gt.keypoints)
    assert fit_err < 0.75 * input_err, (fit_err, input_err)


def test_closed_form_start_alone_is_close(model: HandModel) -> None:
    gt, _ = synthetic(model, 16, 2)
    start = HandFitter(model, iterations=0).fit(gt.keypoints)
    refined = HandFitter(model, iterations=3).fit(gt.keypoints)
    assert mean_error(start.keypoints, gt.keypoints) < 0.01
    assert mean_error(refined.keypoints, gt.keypoints) < mean_error(start.keypoints, gt.keypoints)


def test_warm_start_tracks_small_motion(model: HandModel) -> None:
    fitter = HandFitter(model, iterations=2)
    gt, rng = synthetic(model, 8, 3)
    first = fitter.fit(gt.keypoints)
    # next frame: small change of pose and position
    hp = gt.pose[:, 1:].reshape(8, 45) + rng.normal(scale=0.05, size=(8, 45))
    nxt = model(gt.pose[:, 0], hp, None, gt.transl + 0.005, with_vertices=False)
    warm = fitter.fit(nxt.keypoints, init=first)
    assert mean_error(warm.keypoints, nxt.keypoints) < 0.003


def test_weights_ignore_a_corrupted_keypoint(model: HandModel) -> None:
    gt, _ = synthetic(model, 4, 4)
    bad = gt.keypoints.copy()
    bad[:, 8] += 0.05  # index tip 5 cm off
    w = np.ones((4, 21))
    w[:, 8] = 0.0
    fit = HandFitter(model).fit(bad, w)
    keep = [k for k in range(21) if k != 8]
    assert mean_error(fit.keypoints[:, keep], gt.keypoints[:, keep]) < 0.003


def test_shape_fit_recovers_a_larger_hand(model: HandModel) -> None:
    gt, _ = synthetic(model, 1, 5)
    betas = np.zeros((1, 10))
    betas[0, 0] = 1.5  # a 9 % larger hand
    big = model(gt.pose[:, 0], gt.pose[:, 1:].reshape(1, 45), betas, gt.transl, with_vertices=False)
    fitter = HandFitter(model, iterations=4)
    fixed = fitter.fit(big.keypoints)
    fit = None
    for _ in range(3):
        fit = fitter.fit(big.keypoints, fit_shape=True, init=fit)
    assert float(fit.residual[0]) < float(fixed.residual[0])
    assert float(fit.betas[0, 0]) > 0.5  # overall size recovered as the dominant direction


def test_bad_input(model: HandModel) -> None:
    fitter = HandFitter(model)
    with pytest.raises(ValueError, match="shape"):
        fitter.fit(np.zeros((20, 3)))
    with pytest.raises(TypeError):
        fitter.fit([[0.0, 0.0, 0.0]] * 21)  # type: ignore[arg-type]
    x = np.zeros((21, 3))
    x[5, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        fitter.fit(x)
    w = np.ones(21)
    w[[0, 5, 9, 13]] = 0.0
    with pytest.raises(ValueError, match="palm"):
        fitter.fit(np.random.default_rng(0).normal(size=(21, 3)), w)


def test_weighted_warm_fit_converges(model: HandModel) -> None:
    gt, rng = synthetic(model, 5, 16)
    noisy = gt.keypoints + 0.003 * np.random.default_rng(2).normal(size=gt.keypoints.shape)
    weights = rng.uniform(0.2, 1.0, size=(5, 21))
    fitter = HandFitter(model)
    first = fitter.fit(noisy, weights)
    again = fitter.fit(noisy, weights, init=first)
    assert float(again.residual.max()) < 0.01
    assert float(again.residual.mean()) <= float(first.residual.mean()) + 1e-6


def test_warm_start_recovers_from_a_jump(model: HandModel) -> None:
    fitter = HandFitter(model)
    a, _ = synthetic(model, 4, 7)
    b, _ = synthetic(model, 4, 8)  # unrelated poses and rotations: the "previous frame" is useless
    prev = fitter.fit(a.keypoints)
    no_fallback = HandFitter(model, reinit_residual=None).fit(b.keypoints, init=prev)
    jumped = fitter.fit(b.keypoints, init=prev)
    assert float(jumped.residual.max()) < 0.006
    assert float(jumped.residual.max()) <= float(no_fallback.residual.max()) + 1e-6


def test_left_hand_fit(model: HandModel) -> None:
    left = load_hand_model("left", None)
    gt, _ = synthetic(left, 16, 9)
    fit = HandFitter(left).fit(gt.keypoints)
    assert mean_error(fit.keypoints, gt.keypoints) < 0.002


DATA = data_dir()


def test_fits_real_mediapipe_world_landmarks(model: HandModel) -> None:
    path = DATA / "mediapipe_reference" / "asl_hand_3d.full.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    frames = np.asarray(json.loads(path.read_text()), dtype=np.float64)  # (325, 21, 3) metres, right hand
    fitter = HandFitter(model)
    default = fitter.fit(frames)
    shaped = fitter.fit(frames, fit_shape=True)
    # the open model's keypoint definitions agree with MediaPipe's to a few millimetres
    assert float(default.residual.mean()) < 0.008
    assert float(shaped.residual.mean()) < float(default.residual.mean())
    # the wrong side fits much worse: the fit is sensitive to chirality
    wrong = HandFitter(load_hand_model("left", None)).fit(frames)
    assert float(wrong.residual.mean()) > 2 * float(default.residual.mean())


def test_shape_fit_recovers_shapes(model: HandModel) -> None:
    gt, _ = synthetic(model, 3, 10, betas_scale=1.0)
    fit = HandFitter(model, iterations=4).fit(gt.keypoints, fit_shape=True)
    assert float(fit.residual.max()) < 0.003
