"""Speed work must not move the landmarks: today's output against the float32 baseline recorded before it
(``test/fixtures/landmark_baseline.json``, ``tools/record_landmark_baseline.py``), and the speed tables the
benchmark prints and the README shows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from perception_fixtures import converted_models, data_dir, iter_video_rgb, load_rgb  # noqa: F401 - fixture

from hand_mesh_ros.evaluation.speed import format_speed_tables, latency_stats, ratios
from hand_mesh_ros.geometry.camera import CameraModel
from hand_mesh_ros.perception.regions import region_from_landmarks
from hand_mesh_ros.reconstruction.config import ReconstructionConfig
from hand_mesh_ros.reconstruction.reconstructor import HandReconstructor

BASELINE = Path(__file__).resolve().parent / "fixtures" / "landmark_baseline.json"
MAX_P95_PX = 0.1  # the bound: landmarks within 0.1 px of the float32 baseline at the 95th percentile


def _camera(image: np.ndarray) -> CameraModel:
    h, w = image.shape[:2]
    return CameraModel.pinhole(w, h, float(max(w, h)))  # as the baseline was recorded


def _distances(ours: list[np.ndarray], baseline: list[list[list[float]]]) -> np.ndarray:
    assert len(ours) == len(baseline)
    return np.concatenate([np.zeros(0)] + [np.linalg.norm(a[:, :2] - np.asarray(b), axis=1)
                                           for a, b in zip(ours, baseline, strict=True)])


@pytest.fixture(scope="module")
def baseline() -> dict:
    return json.loads(BASELINE.read_text())


@pytest.fixture(scope="module")
def reconstructor(converted_models: Path) -> HandReconstructor:  # noqa: F811
    return HandReconstructor(ReconstructionConfig(backend="onnxruntime"))


def test_photo_landmarks_stay_within_a_tenth_of_a_pixel(baseline: dict, reconstructor: HandReconstructor) -> None:
    folder = data_dir("gesture_photos")
    dist = []
    for name, hands in baseline["photos"].items():
        image = load_rgb(folder / name)
        result = reconstructor.process_image(image, _camera(image))
        dist.append(_distances([h.keypoints_px for h in result.hands if not h.held], hands))
    d = np.concatenate(dist)
    assert d.size == 21 * sum(len(hands) for hands in baseline["photos"].values())
    assert np.percentile(d, 95) <= MAX_P95_PX, f"p95 {np.percentile(d, 95):.3f} px, max {d.max():.3f} px"


def test_video_landmarks_stay_within_a_tenth_of_a_pixel(baseline: dict, reconstructor: HandReconstructor) -> None:
    """Open loop on the ASL video: each frame cropped where the baseline's previous frame put the hand, as
    tracking does. (Closed loop, the tracker feeds each result into the next crop, so a 1e-4 difference in the
    palm detector's first box grows into a different trajectory; that is not a change of the landmark output.)"""
    path = data_dir("mediapipe_reference") / "asl_hand.25fps.mp4"
    frames = baseline["asl_video_frames"]
    dist = []
    for k, image in enumerate(iter_video_rgb(path)):
        if 0 < k < len(frames) and len(frames[k - 1]) == len(frames[k]) == 1:
            region = region_from_landmarks(np.asarray(frames[k - 1][0]))
            (found,) = reconstructor.landmark_model.process_regions(image, [region])
            dist.append(np.linalg.norm(found.landmarks_px[:, :2] - np.asarray(frames[k][0]), axis=1))
    assert len(dist) >= 300
    d = np.concatenate(dist)
    assert np.percentile(d, 95) <= MAX_P95_PX, f"p95 {np.percentile(d, 95):.3f} px, max {d.max():.3f} px"


def _row(mode: str, ours: float, official: float) -> dict:
    return {"mode": mode, "max_hands": 1, "cores": 1, "ours": {"p50": ours, "p95": ours * 1.2},
            "official": {"p50": official, "p95": official * 1.1}, "hands": [10, 10], "samples": 10,
            "stages": {"detection": 0.0, "landmarks": 8.0, "geometry": 1.0, "fit": 2.0, "other": 0.1}}


def test_speed_tables_show_every_configuration_and_mark_losses() -> None:
    record = {"cpu": "test CPU, 2 cores", "rows": [_row("tracking", 8.0, 10.0), _row("static_no_tiles", 12.0, 10.0)],
              "inputs": {"video": "v.mp4", "photos": "3 photos", "repeats": 2, "warmup": 1, "gap_ms": 10.0},
              "threads": {"ours": "1 thread", "official": "defaults"}}
    text = format_speed_tables(record)
    lines = text.splitlines()
    tracking = next(line for line in lines if line.startswith("| tracking | 1 | 1 | 10.0"))
    assert "**0.80** / **0.87**" in tracking and "slower" not in tracking
    static = next(line for line in lines if line.startswith("| static, small_hands off | 1 | 1 | 10.0"))
    assert "**1.20** / **1.31** (slower)" in static
    assert ratios(record["rows"][1]) == pytest.approx((1.2, 14.4 / 11.0))
    assert "| tracking | 1 | 1 | 0.00 | 8.00 | 1.00 | 2.00 | 0.10 |" in lines  # the per-stage split
    assert "test CPU, 2 cores" in text


def test_latency_stats() -> None:
    stats = latency_stats([1.0, 2.0, 3.0, 4.0, 100.0])
    assert stats["p50"] == 3.0 and stats["p95"] == pytest.approx(80.8)
    with pytest.raises(ValueError, match="no latencies"):
        latency_stats([])


def test_baseline_fixture_is_the_recorded_float32_output(baseline: dict) -> None:
    assert baseline["generator"] == "tools/record_landmark_baseline.py" and "float32" in baseline["runtime"]
    assert len(baseline["photos"]) == 30 and len(baseline["asl_video_frames"]) == 325
