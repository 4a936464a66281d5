"""What this machine can run on a GPU, and which backend/device a setting resolves to.

The probe never imports ``tensorrt`` at module import time and never fails: a machine without CUDA or TensorRT
gets a :class:`GpuInfo` whose ``reason`` says what is missing.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from ..errors import ConfigurationError, InvalidSettingError
from ..settings import device_index

BACKENDS = ("auto", "onnxruntime", "torch", "tensorrt")


class BackendUnavailableError(ConfigurationError):
    """The requested backend cannot run on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class GpuInfo:
    """The CUDA device a GPU backend would use and the TensorRT it would build with.

    ``cuda``: torch sees a CUDA device; ``tensorrt_version``: None when ``import tensorrt`` fails;
    ``reason``: empty when TensorRT can run, else why not.
    """

    cuda: bool
    device_name: str = ""
    compute_capability: str = ""
    total_memory_mb: int = 0
    driver: str = ""
    cuda_runtime: str = ""
    tensorrt_version: str | None = None
    reason: str = ""

    @property
    def tensorrt_ready(self) -> bool:
        return self.cuda and self.tensorrt_version is not None

    def describe(self) -> str:
        if not self.cuda:
            return f"no CUDA GPU ({self.reason})"
        trt = f"TensorRT {self.tensorrt_version}" if self.tensorrt_version else "no TensorRT"
        return (f"{self.device_name} (sm {self.compute_capability}, {self.total_memory_mb} MiB), driver "
                f"{self.driver or 'unknown'}, CUDA runtime {self.cuda_runtime or 'unknown'}, {trt}")


def nvidia_smi(*query: str) -> list[str]:
    """The CSV lines (no header, no units) nvidia-smi prints for ``query``; [] where it is absent (some
    Jetsons) or fails."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, *query, "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.strip().splitlines() if out.returncode == 0 else []


def _driver_version() -> str:
    lines = nvidia_smi("--query-gpu=driver_version")
    return lines[0].strip() if lines else ""


def _tensorrt_version() -> tuple[str | None, str]:
    if importlib.util.find_spec("tensorrt") is None:
        return None, "the tensorrt Python package is not installed (pip install 'hand_mesh_ros[gpu]'; on a " \
                     "Jetson it comes with JetPack)"
    try:
        import tensorrt as trt
    except Exception as exc:  # a broken install raises ImportError, OSError (missing libnvinfer), ...
        return None, f"import tensorrt failed: {type(exc).__name__}: {exc}"
    return str(trt.__version__), ""


@lru_cache(maxsize=8)
def probe(device: str = "cuda:0") -> GpuInfo:
    """Describe CUDA device ``device`` and the installed TensorRT (cached: the answer does not change)."""
    try:
        import torch
    except ImportError:
        return GpuInfo(False, reason="torch is not installed")
    if not torch.cuda.is_available():
        build = "a CPU-only torch build" if torch.version.cuda is None else "no CUDA device or driver"
        return GpuInfo(False, reason=f"torch {torch.__version__} sees no CUDA device ({build})")
    index = device_index(device)
    if index >= torch.cuda.device_count():
        return GpuInfo(False, reason=f"{device} requested but only {torch.cuda.device_count()} CUDA device(s)")
    props = torch.cuda.get_device_properties(index)
    trt_version, why = _tensorrt_version()
    return GpuInfo(
        cuda=True,
        device_name=props.name,
        compute_capability=f"{props.major}.{props.minor}",
        total_memory_mb=int(props.total_memory // 2**20),
        driver=_driver_version(),
        cuda_runtime=str(torch.version.cuda or ""),
        tensorrt_version=trt_version,
        reason=why,
    )


def resolve(backend: str, device: str = "auto", gpu: GpuInfo | None = None) -> tuple[str, str]:
    """Turn the ``backend`` and ``device`` settings into what runs: (onnxruntime|torch|tensorrt, cpu|cuda:N).

    auto: TensorRT on ``cuda:0`` (or the given cuda device) when a CUDA GPU and tensorrt are present, else
    ONNX Runtime on the CPU; ``device: cpu`` forces the CPU. tensorrt: raises BackendUnavailableError when it
    cannot run here. torch: ``device: auto`` means cuda:0 when there is one, else cpu. onnxruntime: CPU.
    ``gpu`` replaces the probe of this machine (for callers that already have one).
    """
    if backend not in BACKENDS:
        raise InvalidSettingError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    if device not in ("auto", "cpu"):
        device_index(device)  # raises for a malformed device
    cuda_device = "cuda:0" if device in ("auto", "cpu") else device
    if backend == "onnxruntime" or (backend == "auto" and device == "cpu"):
        return "onnxruntime", "cpu"
    if backend == "auto" and gpu is None and importlib.util.find_spec("tensorrt") is None:
        return "onnxruntime", "cpu"  # no TensorRT: no need to import torch to look for a GPU
    info = gpu if gpu is not None else probe(cuda_device)
    if backend == "auto":
        return ("tensorrt", cuda_device) if info.tensorrt_ready else ("onnxruntime", "cpu")
    if backend == "torch":
        if device == "auto":
            return "torch", cuda_device if info.cuda else "cpu"
        if device != "cpu" and not info.cuda:
            raise BackendUnavailableError(f"device {device} requested for the torch backend, but {info.reason}; "
                                          "use device 'auto' or 'cpu', or backend 'auto' (ONNX Runtime on the CPU "
                                          "when there is no GPU)")
        return "torch", device
    if device == "cpu":
        raise BackendUnavailableError("the tensorrt backend runs on a CUDA device, not device 'cpu'")
    if not info.tensorrt_ready:
        raise BackendUnavailableError(f"the tensorrt backend cannot run here: {info.reason}; use backend "
                                      "'auto' (falls back to ONNX Runtime on the CPU) or 'onnxruntime'")
    return "tensorrt", cuda_device


def cpu_fallback_reason(device: str = "auto", gpu: GpuInfo | None = None) -> str:
    """Why ``backend: auto`` runs ONNX Runtime on the CPU here instead of TensorRT (for the log line that says it
    fell back); never imports torch when tensorrt is not installed."""
    if device == "cpu":
        return "device 'cpu' was asked for"
    if gpu is None and importlib.util.find_spec("tensorrt") is None:
        return "the tensorrt Python package is not installed"
    info = gpu if gpu is not None else probe("cuda:0" if device == "auto" else device)
    return info.reason or "TensorRT cannot run here"
