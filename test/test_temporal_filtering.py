"""Temporal filtering end to end on rendered moving hands with exact ground truth: no lag, less jitter, no
overshoot at a dead stop, held hands predicted through a gap; and the trajectory measures themselves."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.evaluation.temporal import jitter, lag_frames, overshoot
from hand_mesh_ros.synthetic import SyntheticSequence, load_or_make_sequence
from hand_mesh_ros.synthetic.motion import MOTIONS, STOP_AT_S, motion_state


def _run(seq: SyntheticSequence, blank: range = range(0), **settings: object) -> tuple[np.ndarray, list[bool]]:
    """Camera-frame joints (T, 21, 3) of the first published hand per frame, and whether it was held."""
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    try:
        rec = HandReconstructor(ReconstructionConfig(hand_length_m=seq[0].hands[0].hand_length_m,
                                                     **settings))  # type: ignore[arg-type]
    except ModelNotConvertedError as exc:
        pytest.skip(f"perception models not converted: {exc}")
    joints, held = [], []
    for f in seq:
        hands = rec.process_frame(np.full_like(f.rgb, 128) if f.index in blank else f.rgb, seq.camera, f.stamp_s)
        assert hands.hands, f"no hand published in frame {f.index}"
        joints.append(hands.hands[0].joints)
        held.append(hands.hands[0].held)
    return np.array(joints), held


def _truth(seq: SyntheticSequence) -> np.ndarray:
    return np.array([f.hands[0].joints for f in seq])


def test_moving_hand_filtered_without_lag(prepared: None) -> None:
    seq = load_or_make_sequence(num_frames=60, motion="lateral")  # up to 1 m/s sideways
    truth = _truth(seq)
    raw, _ = _run(seq, smoothing=False)
    new, _ = _run(seq)
    dt = 1.0 / seq.fps
    assert abs(lag_frames(new[:, 0], truth[:, 0])) < 0.5
    assert jitter(new[:, 0], truth[:, 0], dt) < jitter(raw[:, 0], truth[:, 0], dt) / 2
    err_raw = np.linalg.norm(raw - truth, axis=-1).mean()
    assert np.linalg.norm(new - truth, axis=-1).mean() < 1.05 * err_raw


def test_dead_stop_without_overshoot(prepared: None) -> None:
    seq = load_or_make_sequence(num_frames=60, motion="stop")
    truth = _truth(seq)
    new, _ = _run(seq)
    assert overshoot(new[:, 0], truth[:, 0], round(STOP_AT_S * seq.fps)) < 0.010  # metres


def test_held_hand_is_predicted_through_a_gap(prepared: None) -> None:
    seq = load_or_make_sequence(num_frames=60, motion="lateral")
    truth = _truth(seq)[:, 0]
    gap = range(20, 26)  # 0.2 s blank while the hand sweeps at ~1 m/s; the hold lasts 0.3 s
    frozen, held_frozen = _run(seq, blank=gap, smoothing=False)
    predicted, held = _run(seq, blank=gap)
    assert all(held[i] for i in gap) and not any(held[i] for i in range(10, 20))
    assert all(held_frozen[i] for i in gap)
    assert np.allclose(frozen[gap.start, 0], frozen[gap.stop - 1, 0])  # without smoothing the hold freezes
    moved = predicted[gap.stop - 1, 0] - predicted[gap.start, 0]
    assert np.linalg.norm(moved) > 0.02  # the predicted hand moves on with its motion
    err = lambda j: np.linalg.norm(j[list(gap), 0] - truth[list(gap)], axis=-1).mean()  # noqa: E731
    assert err(predicted) < 0.7 * err(frozen)


def test_trajectory_measures() -> None:
    t = np.arange(90, dtype=np.float64)
    truth = np.column_stack([np.sin(t / 9.0), np.cos(t / 7.0)])
    late = np.column_stack([np.sin((t - 1.3) / 9.0), np.cos((t - 1.3) / 7.0)]) + 0.2  # + a constant bias
    assert lag_frames(late, truth) == pytest.approx(1.3, abs=0.02)
    assert lag_frames(truth, truth) == pytest.approx(0.0, abs=1e-3)
    assert jitter(truth, truth, 1 / 30) == 0.0
    noisy = truth + np.random.default_rng(0).normal(0, 0.001, truth.shape)
    assert jitter(noisy, truth, 1 / 30) > 1.0  # 1 mm noise at 30 fps: m/s^2 of acceleration error
    stop = np.column_stack([np.minimum(t, 30) / 30.0, np.zeros(90)])
    passing = stop.copy()
    passing[31:34, 0] += [0.02, 0.01, 0.005]
    assert overshoot(stop, stop, 30) == 0.0
    assert overshoot(passing, stop, 30) == pytest.approx(0.02)
    with pytest.raises(ValueError, match="does not move"):
        overshoot(stop[40:], stop[40:], 5)
    with pytest.raises(ValueError, match="differ in shape"):
        lag_frames(truth, truth[:, :1])


def test_motions_are_named_and_stop_dead() -> None:
    assert set(MOTIONS) == {"default", "lateral", "depth", "stop", "slow"}
    dt = 1.0 / 30.0
    before = [motion_state("stop", STOP_AT_S - k * dt).centre for k in (2, 1)]
    after = [motion_state("stop", STOP_AT_S + k * dt).centre for k in (0, 1, 2)]
    speed = (before[1][0] - before[0][0]) * before[0][2] / dt
    assert speed == pytest.approx(1.0, rel=0.01)  # m/s just before the stop
    assert np.allclose(after[0], after[1]) and np.allclose(after[1], after[2])  # and nothing after it
    lateral = np.array([motion_state("lateral", k * dt).centre[0] * 0.5 for k in range(90)])
    assert np.abs(np.diff(lateral)).max() / dt == pytest.approx(1.0, rel=0.02)
    with pytest.raises(ValueError, match="unknown motion"):
        motion_state("default", 0.0)


def test_one_euro_settings_are_refused_with_their_replacement() -> None:
    from hand_mesh_ros.errors import InvalidSettingError
    from hand_mesh_ros.reconstruction import ReconstructionConfig

    with pytest.raises(InvalidSettingError, match=r"joint_filter_beta.*filter_joint_noise_m"):
        ReconstructionConfig(joint_filter_beta=2.0)  # type: ignore[call-arg]
    with pytest.raises(InvalidSettingError, match=r"filter_depth_noise_ratio must be >= 0\.001"):
        ReconstructionConfig(filter_depth_noise_ratio=0.0)
