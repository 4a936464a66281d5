"""Per-joint confidence says which joints were guessed: joints the landmark network placed outside the image (or
outside the region it looked at) get a low confidence."""

from __future__ import annotations

import numpy as np
import pytest

from hand_mesh_ros.tracking.confidence import outside_distance, visibility


def test_outside_distance_and_visibility() -> None:
    pts = np.array([[10.0, 10.0], [-20.0, 10.0], [10.0, 130.0], [50.0, 50.0]])
    d = outside_distance(pts, 100, 100)
    assert d == pytest.approx([0.0, 19.5, 30.5, 0.0])
    region = (50.0, 50.0, 40.0, 40.0, 0.0)  # a 40 px square around (50, 50)
    assert outside_distance(pts, 100, 100, region)[0] == pytest.approx(np.hypot(20.0, 20.0))
    turned = (50.0, 50.0, 40.0, 40.0, np.pi / 4)  # the same square turned by 45 degrees: a corner points up
    assert outside_distance(np.array([[50.0, 22.0]]), 100, 100, turned)[0] == pytest.approx(0.0, abs=1e-9)
    assert outside_distance(np.array([[50.0, 22.0]]), 100, 100, region)[0] == pytest.approx(8.0)
    v = visibility(pts, 100, 100)
    assert v[0] == v[3] == 1.0 and 0.0 < v[2] < v[1] < 1.0


def test_joints_cut_by_the_image_border_are_not_trusted(prepared: None) -> None:
    from hand_mesh_ros.geometry.camera import CameraModel
    from hand_mesh_ros.perception.model_cache import ModelNotConvertedError
    from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig
    from hand_mesh_ros.synthetic import load_or_make_sequence

    seq = load_or_make_sequence(num_frames=30, motion="lateral")  # an open hand, fingers up
    frame, truth = seq[15], seq[15].hands[0]
    try:
        rec = HandReconstructor(ReconstructionConfig())
    except ModelNotConvertedError as exc:
        pytest.skip(f"perception models not converted: {exc}")
    k = seq.camera.k
    for cut in (220, 260):  # rows cut off the top: the fingers leave the image
        image = np.ascontiguousarray(frame.rgb[cut:])
        camera = CameraModel.pinhole(image.shape[1], image.shape[0], k[0, 0], cx=k[0, 2], cy=k[1, 2] - cut)
        hands = rec.process_image(image, camera).hands
        assert len(hands) == 1
        outside = truth.joints_px[:, 1] - cut < 0
        assert outside.sum() >= 8
        conf = hands[0].joint_confidences
        # without the visibility term these were 0.95 / 0.88 outside against 0.73 / 0.63 inside
        assert conf[outside].mean() < 0.7 * conf[~outside].mean()
