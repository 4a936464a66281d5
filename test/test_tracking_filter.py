"""Temporal filters: the predictive per-track filter (IMM), the One Euro baseline; lag, jitter, stops, gaps,
stamps."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.tracking.filtering import HandState, HandTrackFilter
from hand_mesh_ros.tracking.imm import ConstantVelocityIMM
from hand_mesh_ros.tracking.one_euro import OneEuroFilter, OneEuroParams


def _jitter(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x, 2, axis=0)).mean())


def test_reduces_jitter_and_follows_motion() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    clean = np.column_stack([0.1 * np.sin(2 * np.pi * 0.5 * t), 0.5 + 0.05 * t])
    noisy = clean + rng.normal(0, 0.004, clean.shape)

    def run(beta: float) -> np.ndarray:
        f = OneEuroFilter(OneEuroParams(min_cutoff=1.0, beta=beta))
        return np.array([f(ti, xi) for ti, xi in zip(t, noisy, strict=True)])

    def rms_err(out: np.ndarray) -> float:
        return float(np.sqrt(np.mean((out[30:] - clean[30:]) ** 2)))

    fixed, adaptive = run(0.0), run(20.0)
    assert _jitter(fixed) < _jitter(noisy) / 4
    assert _jitter(adaptive) < _jitter(noisy) / 2
    # the speed-adaptive cut-off follows the motion with much less lag than a fixed low-pass
    assert rms_err(adaptive) < 0.5 * rms_err(fixed)


def test_reset_and_gaps() -> None:
    f = OneEuroFilter(OneEuroParams(min_cutoff=0.5), max_gap_s=0.5)
    for i in range(10):
        f(i * 0.03, np.array([0.0]))
    assert f(0.30, np.array([1.0]))[0] < 0.5  # smoothed step
    assert f(2.0, np.array([1.0]))[0] == 1.0  # gap > max_gap_s: restart at the sample
    f.reset()
    assert not f.initialised and f(5.0, np.array([3.0]))[0] == 3.0


def test_non_increasing_stamps() -> None:
    f = OneEuroFilter()
    first = f(1.0, np.array([0.0, 0.0]))
    same = f(1.0, np.array([5.0, 5.0]))  # duplicate stamp: no update, no division by zero
    assert np.array_equal(first, same)
    back = f(0.9, np.array([5.0, 5.0]))  # small step back: ignored
    assert np.array_equal(back, first)
    after = f(1.033, np.array([1.0, 1.0]))
    assert np.all((after > 0) & (after < 1))
    with pytest.raises(ValueError, match="shape changed"):
        f(1.1, np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        f(float("nan"), np.zeros(2))


def _wrist_run(filt: HandTrackFilter, wrist: np.ndarray, rng: np.random.Generator, noise_m: float = 0.001,
               stamps: np.ndarray | None = None) -> np.ndarray:
    """Filter a wrist track (T, 3) m (with a fixed hand around it and noise), return the filtered wrists."""
    joints = np.random.default_rng(9).normal(0, 0.03, (21, 3))
    joints[0] = 0.0
    out = []
    for i, w in enumerate(wrist):
        t = float(stamps[i]) if stamps is not None else i / 30.0
        noisy = w + rng.normal(0, [noise_m, noise_m, 3 * noise_m])
        out.append(filt(t, HandState(joints, noisy), 600.0).translation)
    return np.array(out)


def test_imm_follows_constant_speed_without_lag_and_smooths_a_still_signal() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(150) / 30.0
    ramp = 0.5 * t  # 0.5 m/s
    noisy = ramp + rng.normal(0, 0.002, t.shape)
    f = ConstantVelocityIMM((0.03, 0.5, 10.0))
    out = np.array([f(ti, np.array([zi]), 0.002)[0] for ti, zi in zip(t, noisy, strict=True)])
    lag_m = float(np.mean(ramp[30:] - out[30:]))  # a low-pass filter trails by speed * delay
    assert abs(lag_m) < 0.1 * 0.5 / 30.0  # under a tenth of a frame
    assert _jitter(out[30:]) < _jitter(noisy[30:]) / 2.5
    still = 0.3 + rng.normal(0, 0.002, t.shape)
    f.reset()
    held = np.array([f(ti, np.array([zi]), 0.002)[0] for ti, zi in zip(t, still, strict=True)])
    assert np.std(held[30:]) < np.std(still[30:]) / 2
    assert f.model_probabilities()[0, 0] > 0.5  # the quiet model explains a still signal


def test_hand_filter_stops_dead_without_overshoot_and_predicts_through_a_gap() -> None:
    rng = np.random.default_rng(1)
    n = 60
    x = np.minimum(np.arange(n), 30) / 30.0 * 1.0 - 0.5  # 1 m/s sideways, dead stop at frame 30
    wrist = np.column_stack([x * 0.5, np.zeros(n), np.full(n, 0.5)])
    wrist[:, 0] = np.minimum(np.arange(n), 30) / 30.0 - 0.5
    out = _wrist_run(HandTrackFilter(), wrist, rng, noise_m=0.0005)
    stop = wrist[30, 0]
    rest = np.median(out[-10:, 0])
    assert abs(rest - stop) < 0.003
    assert out[30:, 0].max() - rest < 0.010  # target: at most 10 mm past the rest position
    moving = out[10:28, 0] - wrist[10:28, 0]
    assert abs(moving.mean()) < 0.2 * (1.0 / 30.0)  # no lag on steady motion (< 0.2 frame)
    # predicting through a gap: the held hand moves on, by less than speed * damping time
    filt = HandTrackFilter()
    _wrist_run(filt, wrist[:20], rng, noise_m=0.0005)
    last = filt.predict(19 / 30.0)
    ahead = filt.predict(19 / 30.0 + 0.3)
    assert last is not None and ahead is not None
    moved = ahead.translation[0] - last.translation[0]
    assert 0.5 * 0.1 < moved <= 1.0 * filt.params.prediction_damping_s + 0.005
    assert np.allclose(ahead.joints_rel, last.joints_rel, atol=0.01)
    # ... but a hand seen at rest after a dead stop is predicted to stay there (no ringing velocity: the
    # manoeuvre model's own velocity flips sign frame to frame after a stop)
    for frames_at_rest in (2, 3, 4, 6):
        filt = HandTrackFilter()
        seen = _wrist_run(filt, wrist[: 31 + frames_at_rest], rng, noise_m=0.0005)
        ahead = filt.predict((30 + frames_at_rest) / 30.0 + 0.3)
        assert ahead is not None
        assert abs(ahead.translation[0] - seen[-1, 0]) < 0.015, frames_at_rest


def test_hand_filter_shapes_confidences_and_reset() -> None:
    joints = np.zeros((21, 3))
    filt = HandTrackFilter()
    assert filt.predict(0.0) is None
    first = filt(0.0, HandState(joints, np.array([0.1, 0.0, 0.5])), 600.0)
    assert np.allclose(first.translation, [0.1, 0.0, 0.5])
    # a joint with zero confidence is trusted less than one with full confidence
    conf = np.ones(21)
    conf[8] = 0.0
    moved = joints.copy()
    moved[[4, 8]] = 0.02
    out = filt(1 / 30.0, HandState(moved, np.array([0.1, 0.0, 0.5])), 600.0, conf)
    assert 0 < out.joints_rel[8, 0] < out.joints_rel[4, 0]
    filt.reset()
    fresh = filt(5.0, HandState(joints, np.array([0.2, 0.0, 1.0])), 600.0)
    assert np.allclose(fresh.translation, [0.2, 0.0, 1.0])
    with pytest.raises(ValueError, match="translation"):
        filt(5.1, HandState(joints, np.zeros(2)), 600.0)
    with pytest.raises(ValueError, match="in front of the camera"):
        filt(5.1, HandState(joints, np.array([0.0, 0.0, -0.5])), 600.0)
    with pytest.raises(ValueError, match="joint_confidences"):
        filt(5.1, HandState(joints, np.array([0.0, 0.0, 0.5])), 600.0, np.ones(3))
    with pytest.raises(ValueError, match="focal_px"):
        filt(5.1, HandState(joints, np.array([0.0, 0.0, 0.5])), 0.0)


def test_imm_stamps_gaps_and_missing_values() -> None:
    f = ConstantVelocityIMM((0.3, 10.0), max_gap_s=0.5)
    first = f(1.0, np.array([0.0, 0.0]), 0.01)
    assert np.array_equal(f(1.0, np.array([5.0, 5.0]), 0.01), first)  # repeated stamp: no update
    assert np.array_equal(f(0.9, np.array([5.0, 5.0]), 0.01), first)  # small step back: ignored
    out = f(1.033, np.array([np.nan, 0.05]), 0.01)  # the missing coordinate is predicted, not updated
    assert out[0] == pytest.approx(0.0, abs=1e-9) and 0 < out[1] < 0.05
    assert np.array_equal(f(2.0, np.array([3.0, 3.0]), 0.01), [3.0, 3.0])  # gap > max_gap_s: restart
    with pytest.raises(ValueError, match="size changed"):
        f(2.1, np.zeros(3), 0.01)
    with pytest.raises(ValueError, match="finite"):
        f(float("nan"), np.zeros(2), 0.01)
    with pytest.raises(ValueError, match="positive"):
        f(2.2, np.zeros(2), 0.0)
    f.reset()
    with pytest.raises(ValueError, match="first sample"):
        f(3.0, np.array([np.nan, 0.0]), 0.01)
    with pytest.raises(RuntimeError, match="no sample"):
        f.estimate()
    with pytest.raises(ValueError, match="accel_std"):
        ConstantVelocityIMM(())


def test_track_holds_then_restarts_its_filter() -> None:
    from hand_mesh_ros.reconstruction.config import ReconstructionConfig
    from hand_mesh_ros.reconstruction.track import Track
    from hand_mesh_ros.tracking.hold import TrackState

    joints = np.zeros((21, 3))
    track = Track.start(1, None, 0.9, ReconstructionConfig(hold_time_s=0.2))
    hand = object()  # the hold passes the published value through untouched
    for i in range(10):
        track.filter(i / 30.0, HandState(joints, np.array([0.0, 0.0, 0.5])), 600.0)
        out = track.publish(i / 30.0, hand, 0.9)  # type: ignore[arg-type]
    assert out.state is TrackState.TRACKING and out.value is hand and track.last_hand is hand
    track.lose()  # the hand is gone: the filter keeps its motion for the hold's predictions
    assert track.filter.predict(10 / 30.0) is not None
    held = track.publish(10 / 30.0, None, 0.1)  # not confident: the last hand is held
    assert held.state is TrackState.HOLDING and held.value is hand
    assert track.publish(0.7, None, 0.0).state is TrackState.IDLE  # held too long
    assert track.filter.predict(0.7) is None  # the filter restarted with the hold
    fresh = track.filter(0.75, HandState(joints, np.array([0.2, 0.0, 1.0])), 600.0)
    assert np.allclose(fresh.translation, [0.2, 0.0, 1.0])  # filter restarted, no slide from 0.5 m
