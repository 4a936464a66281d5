"""HandReconstructor's two running modes: process_image (unrelated photos) and process_frame (one stream)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from hand_mesh_ros.geometry.camera import CameraModel

# Three different photos of one size, each with one hand. Called one after another through the tracking
# path (the old ``process``), the second came back as the first photo's hand, held: the tracker looked for
# the hand where it had been in the previous photo instead of running the palm detector.
PHOTOS = ("four_06aa70cc.jpg", "rock_026fd791.jpg", "four_077fa4bf.jpg")


@pytest.fixture(scope="module")
def photos(shared_data: Path) -> list[np.ndarray]:
    folder = shared_data / "gesture_photos"
    images = [cv2.imread(str(folder / name)) for name in PHOTOS]
    if any(image is None for image in images):
        pytest.skip(f"gesture photos {PHOTOS} not all present in {folder}")
    return [cv2.cvtColor(image, cv2.COLOR_BGR2RGB) for image in images]


def _camera(image: np.ndarray) -> CameraModel:
    h, w = image.shape[:2]
    return CameraModel.pinhole(w, h, float(h))


def test_process_image_finds_the_hand_of_every_photo_in_a_loop(reconstructor, photos) -> None:  # type: ignore[no-untyped-def]
    rec = reconstructor
    rec.reset()
    results = [rec.process_image(image, _camera(image)) for image in photos]
    for name, image, result in zip(PHOTOS, photos, results, strict=True):
        assert len(result.hands) == 1, name
        hand = result.hands[0]
        assert not hand.held and hand.track_id == 1 and result.detector_ran, name
        h, w = image.shape[:2]
        assert np.all((hand.keypoints_px >= 0) & (hand.keypoints_px < [w, h])), name
        assert np.all(np.isfinite(hand.joints)) and hand.joints[0, 2] > 0.1, name
        assert result.tracked_regions == [] and result.stamp_s == 0.0
    # three different hands, not one repeated
    wrists = np.array([r.hands[0].keypoints_px[0] for r in results])
    assert min(np.linalg.norm(wrists[i] - wrists[j]) for i in range(3) for j in range(i)) > 5.0
    # nothing was tracked, and a photo gives the same hand whatever came before it
    assert rec.tracks == {} and rec.tracker.tracked == {}
    again = rec.process_image(photos[1], _camera(photos[1])).hands[0]
    assert np.array_equal(again.joints, results[1].hands[0].joints)
    assert np.array_equal(again.vertices, results[1].hands[0].vertices)


def test_process_image_leaves_a_tracked_stream_alone(reconstructor, photos) -> None:  # type: ignore[no-untyped-def]
    rec = reconstructor
    rec.reset()
    stream, photo = photos[0], photos[2]
    first = rec.process_frame(stream, _camera(stream), 0.0)
    assert [h.track_id for h in first.hands] and first.detector_ran
    track_id = first.hands[0].track_id
    rec.process_image(photo, _camera(photo))
    second = rec.process_frame(stream, _camera(stream), 0.04)
    assert [h.track_id for h in second.hands] == [track_id] and not second.hands[0].held
    assert not second.restarted and not second.camera_changed


def test_process_is_the_deprecated_name_of_process_frame(reconstructor, photos) -> None:  # type: ignore[no-untyped-def]
    rec = reconstructor
    rec.reset()
    image = photos[0]
    with pytest.warns(DeprecationWarning, match="process_frame"):
        old = rec.process(image, _camera(image), 0.0)
    rec.reset()
    new = rec.process_frame(image, _camera(image), 0.0)
    assert len(old.hands) == len(new.hands) == 1
    assert np.array_equal(old.hands[0].joints, new.hands[0].joints)


def test_process_image_needs_the_palm_detector(photos) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("onnxruntime")
    from hand_mesh_ros.reconstruction import HandReconstructor

    try:
        rec = HandReconstructor(with_palm_detector=False)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    with pytest.raises(ValueError, match="palm detector"):
        rec.process_image(photos[0], _camera(photos[0]))
