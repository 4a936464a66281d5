"""The ROS-free reconstruction core on real frames: tracking, identities, camera-space output, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel, InvalidIntrinsics


@pytest.fixture(scope="module")
def asl_frames(shared_data: Path) -> list[np.ndarray]:
    from hand_mesh_ros.ros.frame_source import read_frames

    return list(read_frames(shared_data / "mediapipe_reference" / "asl_hand.25fps.mp4", limit=60))


@pytest.fixture(scope="module")
def reconstructor():  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

    try:
        return HandReconstructor(ReconstructionConfig())
    except FileNotFoundError as exc:  # models or hand model not prepared
        pytest.skip(str(exc))


def test_tracks_one_hand_with_one_identity(reconstructor, asl_frames) -> None:  # type: ignore[no-untyped-def]
    h, w = asl_frames[0].shape[:2]
    camera = CameraModel.pinhole(w, h, float(h))
    reconstructor.reset()
    results = [reconstructor.process(f, camera, i / 25.0) for i, f in enumerate(asl_frames)]
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
        reconstructor.process(asl_frames[0], CameraModel.pinhole(w + 10, h, float(h)), 0.0)
    with pytest.raises((TypeError, ValueError)):
        reconstructor.process(asl_frames[0][:, :, 0], CameraModel.pinhole(w, h, float(h)), 0.0)
    with pytest.raises(InvalidIntrinsics):
        CameraModel.pinhole(w, h, 0.0)
