"""Shared fixtures for the perception tests (import them into a test module to use them).

The converter is called once per session (idempotent: it skips models already in the cache).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from hand_mesh_ros.paths import data_dir

REPO = Path(__file__).resolve().parents[1]
DATA = data_dir()
REFERENCE_JSON = REPO / "test" / "fixtures" / "mediapipe_gesture_reference.json"


def data_dir(sub: str) -> Path:
    """A folder of ../shared/data, or skip the test when it is absent."""
    path = DATA / sub
    if not path.is_dir():
        pytest.skip(f"real data folder {path} not present")
    return path


def load_rgb(path: Path) -> np.ndarray:
    """Read an image file as HxWx3 uint8 RGB."""
    bgr = cv2.imread(str(path))
    assert bgr is not None, f"cannot read {path}"
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def iter_video_rgb(path: Path) -> Iterator[np.ndarray]:
    """Decode a video with cv2.VideoCapture, yielding RGB frames."""
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, bgr = cap.read()
            if not ok:
                return
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


@pytest.fixture(scope="session")
def converted_models() -> Path:
    """Directory holding the converted models (full and lite), converting them first when needed."""
    from hand_mesh_ros.paths import cache_dir
    from hand_mesh_ros.perception.convert import VARIANTS, convert_models

    convert_models(VARIANTS["full"] + VARIANTS["lite"])
    return cache_dir("models")


@pytest.fixture(scope="session")
def perception_full(converted_models: Path):
    """HandPerception with the full models on ONNX Runtime (state is reset by the tests that track)."""
    from hand_mesh_ros.perception.pipeline import HandPerception

    return HandPerception(models_dir=converted_models)


@pytest.fixture(scope="session")
def perception_lite(converted_models: Path):
    """HandPerception with the lite models on ONNX Runtime."""
    from hand_mesh_ros.perception.pipeline import HandPerception

    return HandPerception(variant="lite", models_dir=converted_models)


@pytest.fixture(scope="session")
def official_reference() -> dict:
    """Outputs of the official runtime produced by tools/make_official_reference.py."""
    if not REFERENCE_JSON.exists():
        pytest.skip(f"{REFERENCE_JSON} missing: run python tools/make_official_reference.py")
    return json.loads(REFERENCE_JSON.read_text())
