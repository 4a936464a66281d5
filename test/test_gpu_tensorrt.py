"""TensorRT engines on a real GPU: agreement with ONNX Runtime, GPU crops, batching, int8. Skipped (cleanly,
with the reason) on machines without CUDA and the tensorrt package."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from gpu_fixtures import gesture_photos, landmark_drift
from perception_fixtures import converted_models, data_dir  # noqa: F401 - fixture

from hand_mesh_ros.gpu.availability import probe

GPU = probe("cuda:0")
pytestmark = pytest.mark.skipif(not GPU.tensorrt_ready, reason=f"needs an NVIDIA GPU with TensorRT: {GPU.reason}")


@pytest.fixture(scope="module")
def perception(converted_models: Path):  # type: ignore[no-untyped-def]  # noqa: F811
    from hand_mesh_ros.perception.pipeline import HandPerception

    return HandPerception(backend="onnxruntime", models_dir=converted_models)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return gesture_photos()


@pytest.mark.parametrize(("precision", "limit_px"), [("fp32", 0.05), ("fp16", 0.5)])
def test_engine_agrees_with_onnxruntime(precision: str, limit_px: float, perception, photos) -> None:  # type: ignore[no-untyped-def]
    from hand_mesh_ros.perception.engines import open_engine

    engine = open_engine("hand_landmark_full", precision)
    drift = landmark_drift(perception, perception.landmark_model.backend, engine, photos)
    print(f"{GPU.describe()}: {precision} engine vs ONNX Runtime over {len(drift)} hands: max "
          f"{drift.max():.3f} px, median {np.median(drift):.3f} px")
    assert drift.max() < limit_px


def test_models_with_gpu_crops_match_cpu_pipeline(converted_models: Path, perception, photos) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from hand_mesh_ros.perception.pipeline import HandPerception

    gpu = HandPerception(backend="tensorrt", precision="fp16", models_dir=converted_models)
    assert gpu.landmark_model.backend.name.startswith("tensorrt fp16")
    worst = 0.0
    for image in photos:
        a = perception.process(image, static=True)
        b = gpu.process(image, static=True)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert x.handedness == y.handedness
            worst = max(worst, float(np.abs(x.landmarks_px[:, :2] - y.landmarks_px[:, :2]).max()))
    print(f"whole pipeline on the GPU (palm + landmarks, fp16, GPU crops) vs CPU: max {worst:.3f} px")
    assert worst < 0.5


def test_batches_larger_than_the_profile_are_split(perception, photos) -> None:  # type: ignore[no-untyped-def]
    from hand_mesh_ros.perception.engines import open_engine

    engine = open_engine("hand_landmark_full", "fp32")
    image = photos[0]
    region = perception.process(image, static=True)[0].region
    crop, _ = perception.landmark_model.crop(image, region)
    batch = np.repeat(crop[None], engine.max_batch + 3, axis=0)
    out = engine.run(batch)
    single = engine.run(batch[:1])
    assert out[0].shape[0] == batch.shape[0]
    assert np.allclose(out[0], single[0], atol=1e-3)


def test_int8_engine_builds_and_runs(perception, photos) -> None:  # type: ignore[no-untyped-def]
    from hand_mesh_ros.gpu.trt_engine import TensorRTBackend
    from hand_mesh_ros.perception.engines import engine_for

    path, _ = engine_for("hand_landmark_full", "int8", calibration=data_dir("handgraph_dev") / "images")
    engine = TensorRTBackend(path, ["landmarks", "presence", "handedness", "world_landmarks"], precision="int8")
    drift = landmark_drift(perception, perception.landmark_model.backend, engine, photos)
    print(f"int8 engine vs ONNX Runtime fp32: max {drift.max():.2f} px, median {np.median(drift):.2f} px")
    assert np.median(drift) < 0.5 and drift.max() < 2.5
