"""Reduced-precision ONNX models that TensorRT engines are built from, checked with ONNX Runtime on the CPU:
the exact files a GPU build would take, run on real photos."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from gpu_fixtures import gesture_photos, landmark_drift
from perception_fixtures import converted_models, data_dir  # noqa: F401 - fixture

from hand_mesh_ros.perception.backends import OnnxRuntimeBackend
from hand_mesh_ros.perception.pipeline import HandPerception
from hand_mesh_ros.perception.precision_onnx import precision_net, precision_onnx


class ModuleBackend:
    """A torch module as an inference backend (CPU)."""

    name = "torch module"

    def __init__(self, module: torch.nn.Module) -> None:
        self.module = module

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        with torch.no_grad():
            return tuple(o.numpy() for o in self.module(torch.from_numpy(batch)))


@pytest.fixture(scope="module")
def perception(converted_models: Path) -> HandPerception:  # noqa: F811
    return HandPerception(models_dir=converted_models)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return gesture_photos()


def test_fp16_model_drifts_less_than_half_a_pixel(tmp_path: Path, converted_models: Path,  # noqa: F811
                                                  perception: HandPerception, photos: list[np.ndarray]) -> None:
    models = tmp_path / "models"
    shutil.copytree(converted_models, models, ignore=shutil.ignore_patterns("tflite", "*.fp16.*", "*.int8.*"))
    path = precision_onnx("hand_landmark_full", "fp16", models, log=lambda m: None)
    assert path.name == "hand_landmark_full.fp16.onnx"
    import onnx

    kinds = {onnx.TensorProto.DataType.Name(i.data_type) for i in onnx.load(str(path)).graph.initializer}
    assert "FLOAT16" in kinds  # really half precision inside, float32 at the edges
    fp32 = perception.landmark_model.backend
    onnx_drift = landmark_drift(perception, fp32, OnnxRuntimeBackend(path), photos)
    torch_drift = landmark_drift(perception, fp32, ModuleBackend(precision_net("hand_landmark_full", "fp16",
                                                                               models)), photos)
    print(f"fp16 landmark drift over {len(onnx_drift)} hands: ONNX Runtime max {onnx_drift.max():.3f} px "
          f"(median {np.median(onnx_drift):.3f}); PyTorch max {torch_drift.max():.3f} px")
    assert onnx_drift.max() < 0.5 and torch_drift.max() < 0.5
    # Cached: a second call does not export again; a changed source model does.
    mtime = path.stat().st_mtime_ns
    assert precision_onnx("hand_landmark_full", "fp16", models, log=lambda m: None) == path
    assert path.stat().st_mtime_ns == mtime
    path.with_suffix(".json").write_text('{"format": 0}')
    messages: list[str] = []
    precision_onnx("hand_landmark_full", "fp16", models, log=messages.append)
    assert any("exporting the fp16 ONNX model" in m for m in messages)


def test_int8_model_calibrated_on_other_images(tmp_path: Path, converted_models: Path,  # noqa: F811
                                               perception: HandPerception, photos: list[np.ndarray]) -> None:
    models = tmp_path / "models"
    shutil.copytree(converted_models, models, ignore=shutil.ignore_patterns("tflite", "*.fp16.*", "*.int8.*"))
    with pytest.raises(ValueError, match="calibrate it once"):
        precision_onnx("hand_landmark_full", "int8", models)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no images"):
        precision_onnx("hand_landmark_full", "int8", models, calibration=empty)
    calibration = data_dir("handgraph_dev") / "images"  # 100 images of another data set than the one measured
    path = precision_onnx("hand_landmark_full", "int8", models, calibration=calibration, log=lambda m: None)
    import onnx

    model = onnx.load(str(path))
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert len(qdq) >= 4 * 20  # a Q and a DQ on the input and the weight of each dense convolution
    initializers = {i.name for i in model.graph.initializer}
    assert all(name in initializers for n in qdq for name in n.input[1:])  # scales and zero points: constants
    drift = landmark_drift(perception, perception.landmark_model.backend, OnnxRuntimeBackend(path), photos)
    print(f"int8 landmark drift over {len(drift)} hands: max {drift.max():.2f} px, median {np.median(drift):.2f}")
    assert np.median(drift) < 0.5 and drift.max() < 2.5  # measured 0.33 / 1.47 px
    # The nodes (no calibration folder) use what was calibrated.
    assert precision_onnx("hand_landmark_full", "int8", models) == path
