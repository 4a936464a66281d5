"""Camera-space fit: recovers posed hands from their projection, scales depth exactly with the hand length,
tracks with warm starts and restarts when a warm start goes wrong, ignores zero-weight keypoints, refuses
bad input; the shipped cue statistics are sane and measured with the same residual the fit uses."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hand_mesh_ros.handmodel.camera_fit import CameraFit, CameraSpaceFitter, KeypointObservation, _Problem
from hand_mesh_ros.handmodel.cues import (
    CUES,
    PALM,
    RESIDUAL_SIZE,
    CueStatistics,
    cue_shape,
    load_cue_statistics,
    mirror_signs,
)
from hand_mesh_ros.handmodel.factory import load_hand_model_data
from hand_mesh_ros.handmodel.hand_length import at_hand_length
from hand_mesh_ros.handmodel.kinematics import INTERNAL_TO_MP
from hand_mesh_ros.handmodel.limits import random_plausible_pose
from hand_mesh_ros.handmodel.model import HandModel
from hand_mesh_ros.handmodel.rotations import matrix_to_axis_angle
from hand_mesh_ros.synthetic.sequence import _rot, base_rotation

FOCAL = 600.0  # px, for the 2.5D landmarks and for errors in pixels


def posed_hands(model: HandModel, n: int, seed: int) -> np.ndarray:
    """(n, 21, 3) keypoints of plausible hands, palm or back to the camera within ~35 degrees, 0.35-0.7 m."""
    rng = np.random.default_rng(seed)
    base = base_rotation(model)
    pose = random_plausible_pose(model.data.bone_frames, n, rng, fraction=0.5, side=model.side)
    rots = np.stack([_rot(2, rng.uniform(-1, 1)) @ _rot(1, rng.uniform(-0.6, 0.6)) @ _rot(0, rng.uniform(-0.6, 0.6))
                     @ base for _ in range(n)])
    orient = matrix_to_axis_angle(rots)
    transl = np.column_stack([rng.uniform(-0.1, 0.1, n), rng.uniform(-0.1, 0.1, n), rng.uniform(0.35, 0.7, n)])
    return model(orient, pose, None, transl, with_vertices=False).keypoints


def observe(kp: np.ndarray) -> KeypointObservation:
    """What a perfect landmark network would report for camera-frame keypoints (B, 21, 3)."""
    uv = kp[..., :2] / kp[..., 2:]
    depth = FOCAL * (kp[..., 2:] - kp[:, :1, 2:]) / kp[:, :1, 2:]
    return KeypointObservation(uv, np.concatenate([FOCAL * uv, depth], -1), kp - kp[:, :1])


@pytest.fixture(scope="module")
def exact_cues() -> CueStatistics:
    """The shipped statistics with unit gains: these tests feed true depths, not MediaPipe's flatter ones."""
    stats = load_cue_statistics()
    return CueStatistics(stats.keypoint_sigma, {k: dataclasses.replace(c, gain=1.0) for k, c in stats.cues.items()},
                         "test")


def fitter(side: str, length: float, stats: CueStatistics | None = None) -> CameraSpaceFitter:
    return CameraSpaceFitter(HandModel(at_hand_length(load_hand_model_data(side), length)), statistics=stats)


def error_mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=-1).mean(-1) * 1000.0


@pytest.mark.parametrize("side", ["right", "left"])
def test_recovers_hands_from_their_projection(prepared: None, exact_cues: CueStatistics, side: str) -> None:
    f = fitter(side, 0.18, exact_cues)
    truth = posed_hands(f.model, 20, seed=1)
    fit = f.fit(observe(truth))
    err = error_mm(fit.keypoints, truth)
    # not exact: the weak pose prior and the cues' measured mean errors pull a little (measured 4 / 12 mm)
    assert np.median(err) < 6.0 and err.max() < 20.0
    assert np.abs(fit.keypoints[:, 0, 2] / truth[:, 0, 2] - 1).max() < 0.04
    assert np.median(fit.reprojection) * FOCAL < 2.0  # px
    assert fit.cold.all() and fit.rot_local.shape == (20, 16, 3, 3) and np.all(np.isfinite(fit.cost))


def test_depth_scales_with_the_hand_length(prepared: None) -> None:
    small, large = fitter("right", 0.17), fitter("right", 0.17 * 1.1)
    obs = observe(posed_hands(small.model, 8, seed=2))
    a, b = small.fit(obs), large.fit(obs)
    np.testing.assert_allclose(b.keypoints[:, 0, 2] / a.keypoints[:, 0, 2], 1.1, rtol=1e-3)
    np.testing.assert_allclose(b.keypoints, 1.1 * a.keypoints, atol=2e-3)  # the whole hand, about the camera
    np.testing.assert_allclose(b.reprojection, a.reprojection, atol=1e-4)


def test_warm_start_tracks_and_restarts_when_it_goes_wrong(prepared: None, exact_cues: CueStatistics) -> None:
    f = fitter("right", 0.18, exact_cues)
    truth = posed_hands(f.model, 10, seed=3)
    first = f.fit(observe(truth))
    moved = truth + np.array([0.01, -0.005, 0.02])  # the next frame: the hands moved 23 mm
    warm = f.fit(observe(moved), init=first)
    cold = f.fit(observe(moved))
    assert not warm.cold.any()
    assert np.median(error_mm(warm.keypoints, cold.keypoints)) < 2.0
    assert np.median(error_mm(warm.keypoints, moved)) < 6.0
    # a warm start from nonsense (the hand turned over and 0.9 m away) is noticed and redone from the cues
    wrong = dataclasses.replace(first, transl=first.transl + np.array([0.3, 0.0, 0.8]),
                                rot_local=first.rot_local.copy())
    wrong.rot_local[:, 0] = np.diag([1.0, -1.0, -1.0]) @ wrong.rot_local[:, 0]
    recovered = f.fit(observe(moved), init=wrong)
    assert recovered.cold.all()
    np.testing.assert_allclose(recovered.keypoints, cold.keypoints, atol=1e-9)
    with pytest.raises(ValueError, match="init has 10 hands"):
        f.fit(observe(moved[:3]), init=first)


def test_zero_weight_keypoints_are_ignored(prepared: None, exact_cues: CueStatistics) -> None:
    f = fitter("right", 0.18, exact_cues)
    truth = posed_hands(f.model, 1, seed=4)
    clean = f.fit(observe(truth))
    obs = observe(truth)
    uv = obs.keypoints_uv.copy()
    uv[0, 8] += 0.2  # index fingertip detected far off
    weights = np.ones((1, 21))
    weights[0, 8] = 0.0
    ignored = f.fit(KeypointObservation(uv, obs.landmarks_25d, obs.world_m, weights))
    assert error_mm(ignored.keypoints, clean.keypoints)[0] < 1.0
    pulled = f.fit(KeypointObservation(uv, obs.landmarks_25d, obs.world_m))
    assert error_mm(pulled.keypoints, clean.keypoints)[0] > error_mm(ignored.keypoints, clean.keypoints)[0]


def test_bad_input_is_refused(prepared: None) -> None:
    f = fitter("right", 0.18)
    good = observe(posed_hands(f.model, 1, seed=5))
    nan = good.keypoints_uv.copy()
    nan[0, 3, 0] = np.nan
    with pytest.raises(ValueError, match="keypoints_uv contains NaN"):
        KeypointObservation(nan, good.landmarks_25d, good.world_m)
    with pytest.raises(ValueError, match=r"world_m must have shape \(B, 21, 3\)"):
        KeypointObservation(good.keypoints_uv, good.landmarks_25d, good.world_m[:, :20])
    no_palm = np.ones((1, 21))
    no_palm[0, [0, 5, 9]] = 0.0
    with pytest.raises(ValueError, match="palm keypoints"):
        KeypointObservation(good.keypoints_uv, good.landmarks_25d, good.world_m, no_palm)
    with pytest.raises(TypeError, match="KeypointObservation"):
        f.fit(good.keypoints_uv)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="HandModel"):
        CameraSpaceFitter("right")  # type: ignore[arg-type]


def test_the_confidence_gate_still_drops_scrambled_hands(prepared: None) -> None:
    """The fit bends the model towards the keypoints, but an anatomical hand cannot follow scrambled ones: the
    agreement of its projection with them (the DaHyF confidence) stays at the bottom."""
    from hand_mesh_ros.tracking.confidence import hand_confidence

    f = fitter("right", 0.18)
    obs = observe(posed_hands(f.model, 6, seed=10))
    perm = np.random.default_rng(0).permutation(21)
    scrambled = KeypointObservation(obs.keypoints_uv[:, perm], obs.landmarks_25d[:, perm], obs.world_m[:, perm])
    for o, confident in ((obs, True), (scrambled, False)):
        fit = f.fit(o)
        for i in range(6):
            projected = FOCAL * fit.keypoints[i, :, :2] / fit.keypoints[i, :, 2:]
            score = hand_confidence(FOCAL * o.keypoints_uv[i], projected).score
            assert (score > 0.9) if confident else (score < 0.5), (i, score)


def test_degenerate_keypoints_give_an_unplaced_hand_not_an_error(prepared: None) -> None:
    f = fitter("right", 0.18)
    good = observe(posed_hands(f.model, 2, seed=9))
    uv = good.keypoints_uv.copy()
    uv[1] = uv[1, 0]  # the second hand's 21 keypoints on one pixel: no size, no translation
    fit = f.fit(KeypointObservation(uv, good.landmarks_25d, good.world_m))
    assert np.isfinite(fit.cost[0]) and np.all(np.isfinite(fit.keypoints[0]))
    assert fit.cost[1] == np.inf
    flat = good.landmarks_25d.copy()
    flat[1] = flat[1, 0]  # and its 2.5D landmarks too (a landmark network that saw a hand of no size)
    fit = f.fit(KeypointObservation(uv, flat, good.world_m))
    assert np.isfinite(fit.cost[0]) and fit.cost[1] == np.inf


def test_fit_result_poses_the_mesh_on_the_keypoints(prepared: None) -> None:
    f = fitter("left", 0.19)
    fit = f.fit(observe(posed_hands(f.model, 2, seed=6)))
    batch = f.model.forward_rotations(fit.rot_local, np.zeros((2, f.model.num_shape)), fit.transl)
    np.testing.assert_allclose(batch.keypoints, fit.keypoints, atol=1e-9)
    result = fit.fit_result(f.model.num_shape)
    np.testing.assert_allclose(result.keypoints, fit.keypoints)
    assert isinstance(fit.select([1]), CameraFit) and fit.select([1]).transl.shape == (1, 3)


def test_shipped_statistics_are_sane() -> None:
    stats = load_cue_statistics()
    assert np.all((stats.keypoint_sigma > 0.01) & (stats.keypoint_sigma < 0.08))  # 1-8 % of the hand length
    assert stats.keypoint_sigma[0] > np.median(stats.keypoint_sigma)  # the wrist is the least well defined
    assert "synthetic stills" in stats.source
    for name in CUES:
        cue = stats.cues[name]
        assert 0.5 < cue.gain < 1.0  # MediaPipe's relative depths are flatter than the hand
        assert cue.covariance.shape == (RESIDUAL_SIZE, RESIDUAL_SIZE)
        np.testing.assert_allclose(cue.whitening @ cue.covariance @ cue.whitening.T, np.eye(RESIDUAL_SIZE),
                                   atol=1e-8)
    again = CueStatistics.from_json(stats.to_json())
    np.testing.assert_allclose(again.cues["world"].covariance, stats.cues["world"].covariance, atol=1e-6)


def test_statistics_are_measured_with_the_residual_the_fit_minimises(prepared: None) -> None:
    """tools/measure_cue_statistics.py computes each cue's residual from true joints (hand frame by Kabsch);
    the fit computes it from the posed model (hand frame = its root rotation). For a posed model they agree."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "measure", Path(__file__).resolve().parents[1] / "tools" / "measure_cue_statistics.py")
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for side in ("right", "left"):
        f = fitter(side, 0.18)
        truth = posed_hands(f.model, 3, seed=7)
        other = observe(posed_hands(f.model, 3, seed=8))  # cues of other hands: large residuals
        fit = f.fit(observe(truth))
        kp = f.model.data.keypoint_regressor @ f.model.data.v_template
        rest_palm = kp[list(PALM)] - kp[0]
        problem = _Problem(f, other, np.ones(3), 0.1)
        terms = problem.terms(fit.rot_local, fit.keypoints[:, INTERNAL_TO_MP], np.zeros(3))
        for c, (name, gain) in enumerate(zip(CUES, f._cue_gains, strict=True)):
            fitted = terms.cues[c] + f._cue_means[c]
            for i in range(3):
                shape = cue_shape(name, other.landmarks_25d[i:i + 1], other.world_m[i:i + 1], gain)[0]
                measured = tool.residual(rest_palm, fit.keypoints[i] - fit.keypoints[i, 0], shape, side)
                # the tool mirrors left hands into the right convention; the fit applies the same signs
                np.testing.assert_allclose(measured * mirror_signs(side), fitted[i], atol=0.03)
