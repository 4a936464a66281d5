"""The ROS-free reconstruction core on real frames: tracking, identities, camera-space output, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel, InvalidIntrinsics


@pytest.fixture(scope="module")
def asl_frames(shared_data: Path) -> list[np.ndarray]:
    from hand_mesh_ros.tools.frame_source import read_frames

    return list(read_frames(shared_data / "mediapipe_reference" / "asl_hand.25fps.mp4", limit=60))


def test_tracks_one_hand_with_one_identity(reconstructor, asl_frames) -> None:  # type: ignore[no-untyped-def]
    h, w = asl_frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    reconstructor.reset()
    results = [reconstructor.process_frame(f, camera, i / 25.0) for i, f in enumerate(asl_frames)]
    counts = [len(r.hands) for r in results]
    assert counts.count(1) >= 58, counts  # one hand, no duplicate track from a re-detected palm
    assert len({hand.track_id for r in results for hand in r.hands}) == 1
    detector_frames = sum(r.detector_ran for r in results)
    assert 3 <= detector_frames <= 10  # tracking: the palm detector only looks for a second hand now and then
    hand = results[-1].hands[0]
    assert hand.joints.shape == (21, 3) and np.all(np.isfinite(hand.joints))
    assert 0.2 < hand.joints[0, 2] < 1.5  # metres in front of the camera
    px = camera.project(hand.joints)
    assert np.allclose(px, hand.joints_px, atol=1e-6)
    assert hand.vertices.shape[1] == 3 and hand.faces.max() < len(hand.vertices)
    # The mesh surrounds the joints: every joint lies within 3 cm of some vertex.
    d = np.linalg.norm(hand.vertices[None, :, :] - hand.joints[:, None, :], axis=-1).min(axis=1)
    assert d.max() < 0.03
    assert all(0.0 <= r.hands[0].confidence <= 1.0 for r in results if r.hands)


def test_bad_input_is_refused(reconstructor, asl_frames) -> None:  # type: ignore[no-untyped-def]
    h, w = asl_frames[0].shape[:2]
    with pytest.raises(InvalidIntrinsics, match="but the camera model describes"):
        reconstructor.process_frame(asl_frames[0], CameraModel.pinhole(w + 10, h, float(h)), 0.0)
    with pytest.raises((TypeError, ValueError)):
        reconstructor.process_frame(asl_frames[0][:, :, 0], CameraModel.pinhole(w, h, float(h)), 0.0)
    with pytest.raises(InvalidIntrinsics):
        CameraModel.pinhole(w, h, 0.0)


def test_tracked_hand_is_the_model_at_the_hand_length_and_its_mesh_agrees(asl_frames) -> None:  # type: ignore[no-untyped-def]
    """Tracking (warm-started fits) keeps the hand's bones at the configured length and projects onto the
    detected keypoints (published beside the joints); with smoothing the mesh, refitted to the filtered joints,
    stays on them."""
    pytest.importorskip("onnxruntime")
    from hand_mesh_ros.handmodel.hand_length import joint_chain_length
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    h, w = asl_frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    chains = {}
    for length, smoothing in ((0.17, False), (0.20, False), (0.17, True)):
        try:
            rec = HandReconstructor(ReconstructionConfig(hand_length_m=length, smoothing=smoothing))
        except FileNotFoundError as exc:
            pytest.skip(str(exc))
        hands = [hand for i, f in enumerate(asl_frames[:30]) for hand in rec.process_frame(f, camera, i / 25.0).hands]
        assert len(hands) >= 29
        for hand in hands:
            nearest = np.linalg.norm(hand.vertices[None] - hand.joints[:, None], axis=-1).min(axis=1)
            assert nearest.max() < 0.025
            assert hand.keypoints_px.shape == (21, 2)
        if not smoothing:
            # unfiltered, the fitted hand projects onto the detected keypoints (the hand is ~400 px tall here;
            # the fit allows the keypoints' measured noise, about 3 % of the hand length, 12 px here)
            gaps = [np.linalg.norm(h.keypoints_px - h.joints_px, axis=1).mean() for h in hands]
            assert np.median(gaps) < 15.0 and max(gaps) < 25.0  # measured 10 and 14 px
            # the joints are the model's keypoints: their wrist -> middle tip chain stays near its rest length
            # (1/1.0066 of the hand length; the MCP keypoint sits 6 mm along the bending phalanx). (The joint
            # filter shortens it by up to 7 % while the hand turns fast: the temporal filtering's business.)
            chains[length] = np.array([joint_chain_length(hand.joints) for hand in hands])
            assert np.all(np.abs(chains[length] / (length / 1.0066) - 1) < 0.04)
    assert np.median(chains[0.20]) / np.median(chains[0.17]) == pytest.approx(0.20 / 0.17, rel=0.01)


def test_unplaceable_hands_and_restarts_are_reported(asl_frames) -> None:  # type: ignore[no-untyped-def]
    """A hand whose keypoints cannot be placed is counted (not published, not an error); stamps that step
    back restart tracking and say so."""
    pytest.importorskip("onnxruntime")
    from standin_networks import CollapsedLandmarks, FixedPalms, palm_at

    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    try:
        rec = HandReconstructor(ReconstructionConfig())
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    h, w = asl_frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    first = rec.process_frame(asl_frames[0], camera, 1.0)
    assert first.hands and not first.restarted and first.unplaced == {}
    again = rec.process_frame(asl_frames[1], camera, 0.5)  # the stream restarted
    assert again.restarted and [h.track_id for h in again.hands] == [2]  # a new track: nothing carried over

    rec.tracker.palm_model = FixedPalms(palm_at(w / 2, h / 2))  # type: ignore[assignment]
    rec.tracker.landmark_model = CollapsedLandmarks()  # type: ignore[assignment]
    rec.reset()
    result = rec.process_frame(asl_frames[0], camera, 2.0)
    assert result.unplaced == {"degenerate_keypoints": 1} and result.hands == [] and not result.restarted
