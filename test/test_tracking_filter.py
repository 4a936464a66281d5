"""One Euro filter and the per-track filter: jitter reduction, reset, stamp handling."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.tracking.filtering import HandState, HandTrackFilter
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


def test_hand_track_filter_smooths_depth_and_resets() -> None:
    rng = np.random.default_rng(1)
    joints = rng.normal(0, 0.03, (21, 3))
    filt = HandTrackFilter()
    zs = []
    raw = []
    for i in range(100):
        t = np.array([0.0, 0.0, 0.6]) + rng.normal(0, [0.001, 0.001, 0.01])
        raw.append(t[2])
        out = filt(i / 30.0, HandState(joints + rng.normal(0, 0.001, joints.shape), t, None))
        zs.append(out.translation[2])
        assert out.joints_rel.shape == (21, 3) and out.keypoints_px is None
    assert np.std(np.diff(zs)) < np.std(np.diff(raw)) / 3
    filt.reset()
    new = filt(10.0, HandState(joints, np.array([0.1, 0.1, 1.0]), np.zeros((21, 2))))
    assert np.allclose(new.translation, [0.1, 0.1, 1.0])
    assert np.allclose(new.joints_cam, joints + np.array([0.1, 0.1, 1.0]))
    with pytest.raises(ValueError, match="translation"):
        filt(10.1, HandState(joints, np.zeros(2)))


def test_track_holds_then_restarts_its_filter() -> None:
    from hand_mesh_ros.reconstruction.config import ReconstructionConfig
    from hand_mesh_ros.reconstruction.track import Track
    from hand_mesh_ros.tracking.hold import TrackState

    joints = np.zeros((21, 3))
    track = Track.start(1, None, 0.9, ReconstructionConfig(hold_time_s=0.2))
    hand = object()  # the hold passes the published value through untouched
    for i in range(10):
        track.filter(i / 30.0, HandState(joints, np.array([0.0, 0.0, 0.5])))
        out = track.publish(i / 30.0, hand, 0.9)  # type: ignore[arg-type]
    assert out.state is TrackState.TRACKING and out.value is hand and track.last_hand is hand
    held = track.publish(10 / 30.0, None, 0.1)  # not confident: the last hand is held
    assert held.state is TrackState.HOLDING and held.value is hand
    assert track.publish(0.7, None, 0.0).state is TrackState.IDLE  # held too long
    fresh = track.filter(0.75, HandState(joints, np.array([0.2, 0.0, 1.0])))
    assert np.allclose(fresh.translation, [0.2, 0.0, 1.0])  # filter restarted, no slide from 0.5 m
