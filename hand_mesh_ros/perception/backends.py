"""Inference backends: ONNX Runtime on CPU, PyTorch (reference, CPU or CUDA) and TensorRT (GPU).

All take a float32 NHWC batch and return the model's outputs as numpy arrays in TFLite order. torch and the
TensorRT runtime (:mod:`hand_mesh_ros.gpu`) are imported only when a backend that needs them is asked for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from ..gpu.device_crops import DeviceCropper


class InferenceBackend(Protocol):
    """Something that runs one network on a batch: ``run(batch[N,H,W,3] float32) -> outputs``."""

    name: str

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]: ...


def default_threads() -> int:
    """Intra-op threads: at most 2, never more than the CPUs this process may use."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(2, cpus))


def make_ort_session(path: Path, threads: int | None = None):
    """Create a CPU ONNX Runtime session that does not spin and uses ``threads`` intra-op threads."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or default_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class OnnxRuntimeBackend:
    """Runs an exported ONNX model with ONNX Runtime on CPU."""

    def __init__(self, onnx_path: Path, threads: int | None = None) -> None:
        self.session = make_ort_session(onnx_path, threads)
        self.name = "onnxruntime (cpu)"
        self.input_name = self.session.get_inputs()[0].name

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(self.session.run(None, {self.input_name: batch}))


class TorchBackend:
    """Runs the PyTorch module rebuilt from a converted ``.pt`` file (device: "cpu" or "cuda")."""

    def __init__(self, pt_path: Path, device: str = "cpu") -> None:
        import torch

        from .graph_net import TfliteGraphNet

        self.net = TfliteGraphNet.from_file(pt_path)
        self.device = torch.device(device)
        self.name = f"torch ({self.device})"
        self.net.to(self.device).eval()

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, ...]:
        import torch

        with torch.inference_mode():
            outs = self.net(torch.from_numpy(batch).to(self.device))
        return tuple(o.float().cpu().numpy() for o in outs)


def make_backend(
    pt_path: Path, onnx_path: Path, kind: str = "onnxruntime", device: str = "cpu", threads: int | None = None
) -> InferenceBackend:
    """Return the backend ``kind`` ("onnxruntime" or "torch") for a converted model.

    A converted file that exists but cannot be loaded raises CorruptModelError naming it and the fix.
    """
    if kind not in ("onnxruntime", "torch"):
        raise ValueError(f"unknown backend {kind!r}; expected 'onnxruntime' or 'torch'")
    if kind == "torch":
        import torch

        try:
            torch.device(device)
        except RuntimeError as exc:
            raise ValueError(f"invalid torch device {device!r}: {exc}") from exc
    path = onnx_path if kind == "onnxruntime" else pt_path
    try:
        return (
            OnnxRuntimeBackend(onnx_path, threads) if kind == "onnxruntime" else TorchBackend(pt_path, device)
        )
    except Exception as exc:  # ORT, pickle and protobuf raise many types for a damaged file
        if kind == "torch" and device != "cpu" and "CUDA" in str(exc):
            raise
        raise CorruptModelError(
            f"cannot load converted model {path}: {type(exc).__name__}: {str(exc)[:200]}; rebuild it with "
            "`python -m hand_mesh_ros.perception.convert --force`"
        ) from exc


def device_cropper(backend: InferenceBackend) -> DeviceCropper | None:
    """A :class:`hand_mesh_ros.gpu.device_crops.DeviceCropper` for a TensorRT backend, else None."""
    if not hasattr(backend, "run_filled"):
        return None
    from ..gpu.device_crops import DeviceCropper

    return DeviceCropper(backend)  # type: ignore[arg-type]


class CorruptModelError(RuntimeError):
    """A converted model file exists but cannot be loaded."""


def open_converted(
    family: str,
    variant: str,
    backend: str = "onnxruntime",
    device: str = "cpu",
    threads: int | None = None,
    models_dir: Path | None = None,
    allow_convert: bool = False,
    precision: str = "fp16",
    log: Callable[[str], None] | None = None,
) -> InferenceBackend:
    """The backend running converted model ``<family>_<variant>`` (e.g. "palm_detection", "full").

    ``backend``/``device`` are resolved by :func:`hand_mesh_ros.gpu.availability.resolve` ("auto" picks
    TensorRT when it can run here, else ONNX Runtime; when the TensorRT engine cannot be built or opened, "auto"
    says why through ``log`` and falls back to ONNX Runtime). ``precision``: of the TensorRT engine.
    Raises ValueError for an unknown variant, ModelNotConvertedError when the model is missing (unless
    ``allow_convert``), CorruptModelError when it cannot be loaded, BackendUnavailableError when an explicitly
    requested GPU backend cannot run.
    """
    from ..gpu.availability import resolve
    from .model_cache import model_files, require_converted

    if variant not in ("full", "lite"):
        raise ValueError(f"variant must be 'full' or 'lite', got {variant!r}")
    name = f"{family}_{variant}"
    require_converted(name, models_dir, allow_convert)
    pt, onnx_path, _ = model_files(name, models_dir)
    kind, dev = resolve(backend, device)
    if kind == "tensorrt":
        from .engines import open_engine

        say = log or (lambda message: print(message, file=sys.stderr, flush=True))
        try:
            return open_engine(name, precision, dev, models_dir=models_dir, log=say)
        except Exception as exc:
            if backend != "auto":
                raise
            say(f"{name}: TensorRT unavailable ({type(exc).__name__}: {exc}); using ONNX Runtime on the CPU")
            kind, dev = "onnxruntime", "cpu"
    return make_backend(pt, onnx_path, kind, dev, threads)
