"""Teleoperation core: the retargeting frame for both sides, dex-retargeting driven by our hands against the
ground truth (rendered right and left hands), skips and resets, and the message when dex-retargeting is absent."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.paths import data_dir
from hand_mesh_ros.synthetic import load_or_make_sequence
from hand_mesh_ros.teleop import (
    OPERATOR_TO_MANO,
    HandRetargeter,
    TeleopHand,
    TeleopUnavailableError,
    keypoints_from_palm_frame,
    model_palm_frames,
    palm_frame,
    retargeting_keypoints,
)

ROBOTS_DIR = data_dir().parent / "robots"


@pytest.fixture(scope="module")
def palms(prepared: None) -> dict[str, np.ndarray]:
    return model_palm_frames()


def _retargeter(palms: dict[str, np.ndarray], side: str, **kw: object) -> HandRetargeter:
    pytest.importorskip("dex_retargeting")
    if not (ROBOTS_DIR / "leap_hand").is_dir():
        pytest.skip(f"robot URDFs not found in {ROBOTS_DIR}")
    return HandRetargeter("leap_hand", ROBOTS_DIR, palms, sides=(side,), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("side", ["right", "left"])
def test_wrist_pose_gives_the_palm_frame_for_both_sides(palms: dict[str, np.ndarray], side: str) -> None:
    """Our wrist rotation times the model's constant gives the keypoints dex-retargeting expects (its own
    palm-frame estimate on the same keypoints) for either side; the left hand is not mirrored."""
    seq = load_or_make_sequence(num_frames=30, motion="lateral", side=side)
    errors = []
    for f in seq:
        truth = f.hands[0]
        ours = retargeting_keypoints(truth.joints, truth.wrist_rotation, side, palms[side])
        theirs = keypoints_from_palm_frame(truth.joints, side)
        errors.append(np.linalg.norm(ours - theirs, axis=1).mean())
        assert ours[8, 0] * theirs[8, 0] > 0 and ours[4, 1] * theirs[4, 1] > 0  # same side of every axis
    assert np.median(errors) < 0.012  # metres, over keypoints up to 0.19 m from the wrist (palm-normal tilt)
    assert np.linalg.det(palm_frame(seq[0].hands[0].joints)) == pytest.approx(1.0)
    assert not np.allclose(OPERATOR_TO_MANO["right"], OPERATOR_TO_MANO["left"])
    with pytest.raises(ValueError, match="side"):
        retargeting_keypoints(seq[0].hands[0].joints, np.eye(3), "up", palms["right"])
    with pytest.raises(ValueError, match="rotation"):
        retargeting_keypoints(seq[0].hands[0].joints, np.ones((3, 3)), side, palms[side])


@pytest.mark.parametrize("side", ["right", "left"])
def test_our_hands_drive_the_robot_like_the_truth(palms: dict[str, np.ndarray], side: str, reconstructor) -> None:  # type: ignore[no-untyped-def]
    seq = load_or_make_sequence(num_frames=30, motion="lateral", side=side)
    truth_r, ours_r = _retargeter(palms, side), _retargeter(palms, side)
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    rec = HandReconstructor(ReconstructionConfig(hand_length_m=seq[0].hands[0].hand_length_m))
    diffs = []
    for f in seq:
        t = f.hands[0]
        truth = truth_r.step([TeleopHand(side, 1, t.joints, t.wrist_rotation, 1.0, f.stamp_s)], f.stamp_s)  # type: ignore[arg-type]
        hands = rec.process_frame(f.rgb, seq.camera, f.stamp_s).hands
        assert hands and hands[0].handedness == side
        h = hands[0]
        ours = ours_r.step([TeleopHand(h.handedness, h.track_id, h.joints, h.wrist_rotation, h.confidence,  # type: ignore[arg-type]
                                       f.stamp_s)], f.stamp_s)
        assert len(ours.commands) == 1 and ours.commands[0].joint_names == truth.commands[0].joint_names
        diffs.append(np.abs(ours.commands[0].positions - truth.commands[0].positions))
    assert np.degrees(np.median(diffs)) < 8.0


def test_skips_resets_and_settings(palms: dict[str, np.ndarray]) -> None:
    r = _retargeter(palms, "right", min_confidence=0.5, reset_after_s=0.2)
    seq = load_or_make_sequence(num_frames=30, motion="lateral")
    t = seq[10].hands[0]
    hand = TeleopHand("right", 1, t.joints, t.wrist_rotation, 0.9, 0.0)
    step = r.step([hand, TeleopHand("right", 2, t.joints, t.wrist_rotation, 0.3, 0.0),
                   TeleopHand("left", 3, t.joints, t.wrist_rotation, 0.9, 0.0)], 0.0)
    assert [c.track_id for c in step.commands] == [1]
    assert step.skipped == {"low_confidence": 1, "side_not_driven": 1}
    # the same hand again: each step starts from the last solution (the optimiser's budget per step is small),
    # so the steps shrink as it converges
    q = [r.step([TeleopHand("right", 1, t.joints, t.wrist_rotation, 0.9, k / 30)], k / 30).commands[0].positions
         for k in range(1, 6)]
    assert np.abs(q[-1] - q[-2]).max() < 0.5 * np.abs(q[0] - step.commands[0].positions).max()
    assert r.step([], 0.5).commands == []  # nothing for longer than reset_after_s: the side restarts
    assert r._sides["right"].track_id is None
    with pytest.raises(ValueError, match="min_confidence"):
        HandRetargeter("leap_hand", ROBOTS_DIR, palms, sides=("right",), min_confidence=2.0)
    with pytest.raises(ValueError, match="side must be"):
        TeleopHand("Right", 1, t.joints, t.wrist_rotation, 0.9, 0.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="confidence must be in"):
        TeleopHand("right", 1, t.joints, t.wrist_rotation, 2.0, 0.0)
    with pytest.raises(ValueError, match="not a rotation matrix"):
        TeleopHand("right", 1, t.joints, 2 * t.wrist_rotation, 0.9, 0.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        retargeting_keypoints(np.full((21, 3), np.nan), t.wrist_rotation, "right", palms["right"])
    with pytest.raises(ValueError, match="robot must be one of"):
        HandRetargeter("wooden_hand", ROBOTS_DIR, palms, sides=("right",))
    with pytest.raises(TeleopUnavailableError, match="URDF folder"):
        HandRetargeter("leap_hand", Path("/nonexistent/robots"), palms, sides=("right",))


def test_without_dex_retargeting_the_error_names_the_install(palms: dict[str, np.ndarray],
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    for name in [m for m in sys.modules if m.startswith("dex_retargeting")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "dex_retargeting", None)  # import fails as if not installed
    with pytest.raises(TeleopUnavailableError, match=r"pip install dex-retargeting==0\.5\.0 six"):
        HandRetargeter("leap_hand", tmp_path, palms, sides=("right",))
