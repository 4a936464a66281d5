"""Helpers shared by the GPU-module tests: landmark drift between two backends on the real gesture photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from perception_fixtures import data_dir, load_rgb

from hand_mesh_ros.perception.backends import InferenceBackend
from hand_mesh_ros.perception.pipeline import HandPerception


def gesture_photos() -> list[np.ndarray]:
    """The gesture photos (RGB) of ../shared/data (skips when absent)."""
    folder = data_dir("gesture_photos")
    return [load_rgb(p) for p in sorted(Path(folder).glob("*.jpg"))]


def landmark_drift(perception: HandPerception, reference: InferenceBackend, other: InferenceBackend,
                   images: list[np.ndarray]) -> np.ndarray:
    """Per hand, the largest landmark difference in image pixels between two landmark backends, on the hand
    regions the perception finds in ``images``."""
    lm = perception.landmark_model
    saved = lm.backend
    drifts = []
    try:
        for image in images:
            regions = [hand.region for hand in perception.process(image, static=True)]
            if not regions:
                continue
            lm.backend = reference
            a = lm.process_regions(image, regions)
            lm.backend = other
            b = lm.process_regions(image, regions)
            drifts += [float(np.abs(x.landmarks_px[:, :2] - y.landmarks_px[:, :2]).max()) for x, y in zip(a, b,
                                                                                                         strict=True)]
    finally:
        lm.backend = saved
    assert drifts, "no hands found in the gesture photos"
    return np.asarray(drifts)
