"""Hand confidence (shape cosine + scores) and the hold-on-doubt state machine."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.tracking.confidence import hand_confidence, per_joint_confidence, shape_cosine
from hand_mesh_ros.tracking.hold import TrackHold, TrackState

CAM = CameraModel.pinhole(640, 480, 600.0)


def _hand(seed: int, curl: float) -> np.ndarray:
    """21 joints (m, root-relative): five fingers fanned out, each curled by ``curl`` radians per bone."""
    rng = np.random.default_rng(seed)
    j = np.zeros((21, 3))
    for f, ang in enumerate(np.linspace(-0.9, 0.5, 5)):
        d = np.array([np.sin(ang), -np.cos(ang), 0.0])
        j[1 + 4 * f] = d * (0.03 if f == 0 else 0.085)
        for k in range(1, 4):
            a = curl * k
            step = np.cos(a) * d + np.sin(a) * np.array([0.0, 0.0, -1.0])
            j[1 + 4 * f + k] = j[4 * f + k] + 0.028 * step + rng.normal(0, 0.001, 3)
    return j


def _project(joints: np.ndarray) -> np.ndarray:
    return CAM.project(joints + np.array([0.02, 0.01, 0.5]))


def test_confident_on_a_consistent_fit() -> None:
    det = _project(_hand(0, 0.1))
    fit = det + np.random.default_rng(1).normal(0, 1.0, det.shape)  # fit reprojects within ~1 px
    c = hand_confidence(det, fit, detector_score=0.95, presence_score=0.98)
    assert c.shape_cosine > 0.99 and c.is_confident()
    assert c.per_joint.shape == (21,) and np.all(c.per_joint > 0.5)


def test_confidence_drops_for_shuffled_or_other_pose() -> None:
    det = _project(_hand(0, 0.1))
    good = hand_confidence(det, det + 0.5).score
    shuffled = det[np.random.default_rng(2).permutation(21)]
    fist = _project(_hand(0, 1.3))
    for wrong in (shuffled, fist):
        c = hand_confidence(det, wrong, 0.95, 0.98)
        assert c.score < 0.5 * good and not c.is_confident()
    assert shape_cosine(det, shuffled) < shape_cosine(det, fist) < shape_cosine(det, det + 0.5)


def test_scores_combine_and_per_joint_localises_error() -> None:
    det = _project(_hand(3, 0.2))
    assert hand_confidence(det, det, detector_score=0.0).score == 0.0
    low = hand_confidence(det, det, presence_score=0.2).score
    assert low < hand_confidence(det, det, presence_score=0.9).score
    moved = det.copy()
    moved[8] += 40.0
    pj = per_joint_confidence(det, moved)
    assert pj[8] < 0.1 and np.all(np.delete(pj, 8) == 1.0)
    with pytest.raises(ValueError, match="detector_score"):
        hand_confidence(det, det, detector_score=1.5)
    with pytest.raises(ValueError, match="differ in shape"):
        shape_cosine(det, det[:20])


def test_track_hold_state_machine() -> None:
    hold: TrackHold[str] = TrackHold(hold_s=0.3, threshold=0.5)
    assert hold.update(0.0, None, 0.0).state is TrackState.IDLE
    out = hold.update(0.1, "a", 0.9)
    assert out.state is TrackState.TRACKING and out.value == "a"
    out = hold.update(0.2, "jump", 0.1)  # unconfident frame: keep publishing the last good one
    assert out.state is TrackState.HOLDING and out.value == "a" and out.age_s == pytest.approx(0.1)
    assert hold.update(0.35, None, 0.0).value == "a"
    out = hold.update(0.45, "jump", 0.2)  # held too long: drop the track
    assert out.state is TrackState.IDLE and out.value is None
    assert hold.update(0.5, "b", 0.6).value == "b"
    with pytest.raises(ValueError):
        TrackHold(hold_s=-1.0)
