"""Backend/device resolution and the GPU probe (no GPU needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture

from hand_mesh_ros.gpu.availability import BackendUnavailableError, GpuInfo, probe, resolve
from hand_mesh_ros.reconstruction.config import ReconstructionConfig
from hand_mesh_ros.ros.node_config import DetectorConfig

READY = GpuInfo(True, "NVIDIA H100", "9.0", 81000, "560.1", "12.4", "10.16.1")
NO_TRT = GpuInfo(True, "NVIDIA H100", "9.0", 81000, "560.1", "12.4", None, "tensorrt is not installed")
NO_GPU = GpuInfo(False, reason="torch sees no CUDA device")


def test_auto_picks_tensorrt_only_when_it_can_run() -> None:
    assert resolve("auto", "auto", READY) == ("tensorrt", "cuda:0")
    assert resolve("auto", "cuda:1", READY) == ("tensorrt", "cuda:1")
    assert resolve("auto", "auto", NO_TRT) == ("onnxruntime", "cpu")
    assert resolve("auto", "auto", NO_GPU) == ("onnxruntime", "cpu")
    assert resolve("auto", "cpu", READY) == ("onnxruntime", "cpu")


def test_explicit_backends() -> None:
    assert resolve("onnxruntime", "cuda:0", READY) == ("onnxruntime", "cpu")
    assert resolve("torch", "auto", NO_GPU) == ("torch", "cpu")
    assert resolve("torch", "auto", NO_TRT) == ("torch", "cuda:0")
    assert resolve("tensorrt", "auto", READY) == ("tensorrt", "cuda:0")
    with pytest.raises(BackendUnavailableError, match="tensorrt is not installed"):
        resolve("tensorrt", "auto", NO_TRT)
    with pytest.raises(BackendUnavailableError, match="not device 'cpu'"):
        resolve("tensorrt", "cpu", READY)
    with pytest.raises(BackendUnavailableError, match="no CUDA device"):
        resolve("torch", "cuda:0", NO_GPU)


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        resolve("openvino", "auto", READY)
    with pytest.raises(ValueError, match="not a CUDA device"):
        resolve("auto", "gpu0", READY)
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
        ReconstructionConfig(device="gpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        DetectorConfig(precision="bf16")


def test_probe_describes_this_machine() -> None:
    import torch

    info = probe("cuda:0")
    assert info.cuda == torch.cuda.is_available()
    if not info.cuda:
        assert "CUDA" in info.reason and not info.tensorrt_ready
        assert info.describe().startswith("no CUDA GPU")
    else:
        assert info.device_name and info.compute_capability


def test_models_fall_back_or_refuse_without_a_gpu(converted_models: Path) -> None:  # noqa: F811
    from hand_mesh_ros.perception.landmark_model import LandmarkModel

    if probe("cuda:0").tensorrt_ready:
        pytest.skip("this machine can run TensorRT (covered by test_gpu_tensorrt.py)")
    messages: list[str] = []
    model = LandmarkModel(backend="auto", models_dir=converted_models, log=messages.append)
    assert model.backend.name == "onnxruntime (cpu)"
    with pytest.raises(BackendUnavailableError, match="tensorrt backend cannot run here"):
        LandmarkModel(backend="tensorrt", device="cuda:0", models_dir=converted_models)
