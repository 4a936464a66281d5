"""Bad input gives a clear TypeError/ValueError before any model runs; odd layouts are handled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from perception_fixtures import converted_models, data_dir, load_rgb, perception_full  # noqa: F401 - fixtures

from hand_mesh_ros.perception.pipeline import HandPerception, PerceptionConfig


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((0, 0, 3), np.uint8), ValueError, "too small"),
        (np.zeros((1, 1, 3), np.uint8), ValueError, "too small"),
        (np.zeros((1, 640, 3), np.uint8), ValueError, "too small"),
        (np.zeros((48, 64, 3), np.float32), TypeError, "uint8"),
        (np.zeros((48, 64, 3), np.int64), TypeError, "uint8"),
        (np.zeros((48, 64), np.uint8), ValueError, r"\(H, W, 3\)"),
        (np.zeros((48, 64, 4), np.uint8), ValueError, r"\(H, W, 3\)"),
        (np.zeros((2, 48, 64, 3), np.uint8), ValueError, r"\(H, W, 3\)"),
        ([[0, 0, 0]], TypeError, "numpy array"),
        (None, TypeError, "numpy array"),
    ],
)
def test_bad_images_raise_clear_errors(perception_full, image: object, error: type, match: str) -> None:  # noqa: F811
    with pytest.raises(error, match=match):
        perception_full.process(image)
    with pytest.raises(error, match=match):
        perception_full.process(image, static=True)


def test_non_contiguous_views_are_accepted(perception_full) -> None:  # noqa: F811
    image = load_rgb(data_dir("mediapipe_reference") / "hands.jpg")
    base = perception_full.process(np.ascontiguousarray(image), static=True)
    # A strided view (every pixel, but through a doubled-width buffer) gives identical results.
    wide = np.zeros((image.shape[0], image.shape[1] * 2, 3), np.uint8)
    wide[:, ::2] = image
    view = wide[:, ::2]
    assert not view.flags.c_contiguous
    again = perception_full.process(view, static=True)
    assert len(again) == len(base) == 2
    for a, b in zip(base, again, strict=False):
        np.testing.assert_array_equal(a.landmarks_px, b.landmarks_px)
    # A mirrored view is valid input too and swaps handedness.
    mirrored = perception_full.process(image[:, ::-1], static=True)
    assert sorted(o.handedness for o in mirrored) == ["right", "right"]


def test_tiny_and_blank_images_give_no_hands(perception_full) -> None:  # noqa: F811
    assert perception_full.process(np.zeros((2, 2, 3), np.uint8), static=True) == []
    assert perception_full.process(np.full((480, 640, 3), 255, np.uint8), static=True) == []


def test_bad_batches_and_config_are_rejected(perception_full, converted_models: Path) -> None:  # noqa: F811
    with pytest.raises(ValueError, match="224"):
        perception_full.landmark_model.run(np.zeros((1, 192, 192, 3), np.float32))
    with pytest.raises(TypeError, match="float32"):
        perception_full.landmark_model.run(np.zeros((1, 224, 224, 3), np.uint8))
    with pytest.raises(ValueError, match="N>=1"):
        perception_full.palm_model.run(np.zeros((0, 192, 192, 3), np.float32))
    with pytest.raises(ValueError, match="max_hands"):
        PerceptionConfig(max_hands=0)
    with pytest.raises(ValueError, match="min_presence"):
        PerceptionConfig(min_presence=1.5)
    with pytest.raises(ValueError, match="detect_every_n"):  # a renamed setting says its new name
        PerceptionConfig(detect_every=5)
    with pytest.raises(ValueError, match="unknown backend"):
        HandPerception(backend="openvino", models_dir=converted_models)
