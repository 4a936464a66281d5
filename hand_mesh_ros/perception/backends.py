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

from ..errors import ConfigurationError, InvalidSettingError
from .model_cache import CorruptModelError, corrupt_advice
from .sources import SOURCES

__all__ = ["CorruptModelError", "InferenceBackend", "make_backend", "open_converted"]

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


# With two or more intra-op threads, how long an idle worker spins before it sleeps: long enough to stay awake
# between the operators of one run (which 2 threads then run 1.3x faster than without spinning), short enough
# that the pool sleeps between frames (unbounded spinning burnt a whole core between frames). ONNX Runtime >= 1.26.
SPIN_DURATION_US = 200
_SPIN_DURATION_SINCE = (1, 26)


def make_ort_session(path: Path, threads: int | None = None):
    """Create a CPU ONNX Runtime session with ``threads`` intra-op threads (default :func:`default_threads`)
    whose workers spin at most :data:`SPIN_DURATION_US` between operators (not at all on an ONNX Runtime too old
    to bound it)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or default_threads()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    bounded = _version(ort.__version__) >= _SPIN_DURATION_SINCE
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if bounded else "0")
    if bounded:
        so.add_session_config_entry("session.intra_op.spin_duration_us", str(SPIN_DURATION_US))
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _version(text: str) -> tuple[int, int]:
    """(major, minor) of a version string such as "1.31.1"; (0, 0) when it cannot be read."""
    try:
        major, minor = text.split(".")[:2]
        return int(major), int("".join(c for c in minor if c.isdigit()) or 0)
    except ValueError:
        return (0, 0)


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

    A converted file that exists but cannot be loaded raises CorruptModelError naming it and the fix; a runtime
    that is not installed, or a CUDA device that cannot be used, raises BackendUnavailableError.
    """
    from ..gpu.availability import BackendUnavailableError

    if kind not in ("onnxruntime", "torch"):
        raise InvalidSettingError(f"unknown backend {kind!r}; expected 'onnxruntime' or 'torch'")
    try:
        if kind == "torch":
            import torch
        else:
            import onnxruntime  # noqa: F401 - only to tell a missing runtime from a damaged file
    except ImportError as exc:
        package = "torch" if kind == "torch" else "onnxruntime"
        raise BackendUnavailableError(f"the {kind} backend needs the {package} Python package, which cannot be "
                                      f"imported ({exc}); install it or choose another backend") from exc
    if kind == "torch":
        try:
            torch.device(device)
        except RuntimeError as exc:
            raise InvalidSettingError(f"invalid torch device {device!r}: {exc}") from exc
    path = onnx_path if kind == "onnxruntime" else pt_path
    try:
        return (
            OnnxRuntimeBackend(onnx_path, threads) if kind == "onnxruntime" else TorchBackend(pt_path, device)
        )
    except Exception as exc:  # ORT, pickle and protobuf raise many types for a damaged file
        if kind == "torch" and device != "cpu" and "CUDA" in str(exc):
            raise BackendUnavailableError(f"the torch backend cannot use {device}: {exc}; use device 'cpu' or "
                                          "backend 'auto'") from exc
        name = path.name.split(".")[0]
        raise CorruptModelError(
            f"corrupt cached model {path}: it cannot be loaded ({type(exc).__name__}: {str(exc)[:200]}); "
            f"{corrupt_advice(name) if name in SOURCES else 'delete it and convert the models again'}"
        ) from exc


def device_cropper(backend: InferenceBackend) -> DeviceCropper | None:
    """A :class:`hand_mesh_ros.gpu.device_crops.DeviceCropper` for a TensorRT backend, else None."""
    if not hasattr(backend, "run_filled"):
        return None
    from ..gpu.device_crops import DeviceCropper

    return DeviceCropper(backend)  # type: ignore[arg-type]


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
    TensorRT when it can run here, else ONNX Runtime on the CPU, and says so through ``log``; when the TensorRT
    engine cannot be built or opened, "auto" says why and falls back to ONNX Runtime). ``precision``: of the
    TensorRT engine. ``log``: progress and fallback lines (default: stderr).

    Every failure is a :class:`~hand_mesh_ros.errors.ConfigurationError` naming the setting or file and the fix:
    InvalidSettingError for an unknown variant or backend, BackendUnavailableError when an explicitly requested
    GPU backend cannot run, ModelNotConvertedError when the model is missing (unless ``allow_convert``),
    CorruptModelError when a cached file is damaged (with ``allow_convert`` it is rebuilt once instead, and the
    rebuild is logged), CacheNotWritableError when a conversion is needed but the cache is read-only.
    """
    from ..gpu.availability import cpu_fallback_reason, resolve
    from .model_cache import model_files, require_converted, verify_files

    if variant not in ("full", "lite"):
        raise InvalidSettingError(f"model_variant must be 'full' or 'lite', got {variant!r}")
    name = f"{family}_{variant}"
    say = log or (lambda message: print(message, file=sys.stderr, flush=True))
    kind, dev = resolve(backend, device)  # settings and this machine first: cheap, and no conversion in vain
    if backend == "auto" and kind == "onnxruntime" and device != "cpu":
        say(f"{name}: backend auto runs ONNX Runtime on the CPU ({cpu_fallback_reason(device)})")
    require_converted(name, models_dir, allow_convert)
    pt, onnx_path, _ = model_files(name, models_dir)
    for attempt in ("first", "rebuilt"):
        try:
            verify_files(name, {"onnxruntime": ("onnx",), "torch": ("pt",)}.get(kind, ("pt", "onnx")), models_dir)
            if kind == "tensorrt":
                try:
                    return _open_engine(name, precision, dev, models_dir, say)
                except ConfigurationError as exc:
                    if backend != "auto" or isinstance(exc, CorruptModelError):
                        raise
                    say(f"{name}: TensorRT unavailable ({exc}); using ONNX Runtime on the CPU")
                    kind, dev = "onnxruntime", "cpu"
                    verify_files(name, ("onnx",), models_dir)
            return make_backend(pt, onnx_path, kind, dev, threads)
        except CorruptModelError as exc:
            if not allow_convert or attempt == "rebuilt":
                raise
            say(f"{name}: {exc}; rebuilding it (allow_convert is set)")
            from .convert import convert_models

            convert_models([name], models_dir=models_dir, force=True)
    raise AssertionError("unreachable")  # pragma: no cover


def _open_engine(name: str, precision: str, device: str, models_dir: Path | None,
                 log: Callable[[str], None]) -> InferenceBackend:
    """The TensorRT engine of ``name``; every failure to build or open it is a BackendUnavailableError."""
    from ..gpu.availability import BackendUnavailableError
    from .engines import open_engine

    try:
        return open_engine(name, precision, device, models_dir=models_dir, log=log)
    except ConfigurationError:
        raise
    except Exception as exc:  # TensorRT, CUDA and the engine build raise many types
        raise BackendUnavailableError(
            f"cannot build or open the TensorRT engine of {name} ({precision}) on {device}: "
            f"{type(exc).__name__}: {exc}; use backend 'auto' (falls back to ONNX Runtime on the CPU) or "
            "'onnxruntime'"
        ) from exc
