"""Engines of the converted models: find or build the engine for a model, precision and GPU, and open it."""

from __future__ import annotations

from pathlib import Path

from ..gpu.availability import BackendUnavailableError, probe
from ..gpu.engine_cache import BatchProfile, EngineKey, file_sha256, load_or_build
from ..gpu.trt_engine import Log, TensorRTBackend, build_engine_bytes
from .model_cache import OUTPUT_NAMES
from .precision_onnx import precision_onnx
from .sources import SOURCES

# Batch profiles the nodes use: one letterboxed image for the palm detector, up to 4 hands (max_hands) for the
# landmarks with room for palms and tracked regions of the same frame.
DEFAULT_PROFILES = {"palm_detection": BatchProfile(1, 1, 1), "hand_landmark": BatchProfile(1, 2, 8)}


def family(name: str) -> str:
    return name.rsplit("_", 1)[0]


def engine_key(name: str, precision: str, profile: BatchProfile, onnx_path: Path, device: str) -> EngineKey:
    gpu = probe(device)
    if not gpu.tensorrt_ready:
        raise BackendUnavailableError(f"cannot build TensorRT engines here: {gpu.reason}")
    return EngineKey(name, precision, profile, file_sha256(onnx_path), gpu.device_name, gpu.compute_capability,
                     str(gpu.tensorrt_version))


def engine_for(
    name: str,
    precision: str = "fp16",
    profile: BatchProfile | None = None,
    device: str = "cuda:0",
    models_dir: Path | None = None,
    calibration: Path | None = None,
    force: bool = False,
    log: Log = print,
) -> tuple[Path, bool]:
    """(engine path, built now?) for converted model ``name``: from the cache, or built with progress."""
    import torch

    profile = profile or DEFAULT_PROFILES[family(name)]
    onnx_path = precision_onnx(name, precision, models_dir, calibration, log)
    key = engine_key(name, precision, profile, onnx_path, device)
    size = SOURCES[name].input_size

    def build() -> bytes:
        with torch.cuda.device(torch.device(device)):
            return build_engine_bytes(onnx_path, (size, size, 3), profile, strict_fp32=precision == "fp32",
                                      log=lambda m: log(f"{name}: {m}"))

    return load_or_build(key, build, force=force, log=log)


def open_engine(
    name: str,
    precision: str = "fp16",
    device: str = "cuda:0",
    profile: BatchProfile | None = None,
    models_dir: Path | None = None,
    log: Log = print,
) -> TensorRTBackend:
    """The TensorRT backend of converted model ``name`` (its engine built first when not cached)."""
    path, _ = engine_for(name, precision, profile, device, models_dir, log=log)
    return TensorRTBackend(path, OUTPUT_NAMES[family(name)], device, precision=precision)
