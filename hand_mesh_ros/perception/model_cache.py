"""The cache of converted MediaPipe models: file names, variants, output names, and whether they are there.

Imports neither torch nor ONNX, so running the converted models does not need them; converting does
(:mod:`hand_mesh_ros.perception.convert`).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..paths import cache_dir
from .sources import CONVERT_COMMAND, SOURCES

FORMAT_VERSION = 3  # bump when the exported graphs change; older caches are rebuilt
VARIANTS = {
    "full": ["palm_detection_full", "hand_landmark_full"],
    "lite": ["palm_detection_lite", "hand_landmark_lite"],
}
OUTPUT_NAMES = {
    "palm_detection": ["boxes", "scores"],
    "hand_landmark": ["landmarks", "presence", "handedness", "world_landmarks"],
}


class ModelNotConvertedError(FileNotFoundError):
    """A converted model is missing or stale in the cache; the message names the command that fixes it."""


def model_files(name: str, models_dir: Path | None = None) -> tuple[Path, Path, Path]:
    """Return the (.pt, .onnx, .json) paths of a converted model."""
    if name not in SOURCES:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(SOURCES)}")
    d = models_dir or cache_dir("models")
    return d / f"{name}.pt", d / f"{name}.onnx", d / f"{name}.json"


def is_converted(name: str, models_dir: Path | None = None) -> bool:
    """True when all outputs of ``name`` exist and were made from the expected source by this converter."""
    pt, onnx_path, meta = model_files(name, models_dir)
    if not (pt.exists() and onnx_path.exists() and meta.exists()):
        return False
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return False
    return info.get("source_sha256") == SOURCES[name].sha256 and info.get("format") == FORMAT_VERSION


def require_converted(name: str, models_dir: Path | None = None, allow_convert: bool = False) -> None:
    """Make sure ``name`` is converted: convert it when ``allow_convert``, else raise
    ModelNotConvertedError."""
    if is_converted(name, models_dir):
        return
    if allow_convert:
        from .convert import convert_models  # torch is imported only when converting

        convert_models([name], models_dir=models_dir)
        return
    pt, _, _ = model_files(name, models_dir)
    raise ModelNotConvertedError(
        f"converted model {pt.name} is missing or stale in {pt.parent}; run `{CONVERT_COMMAND}` once "
        "(it downloads the mediapipe==0.10.21 wheel, about 35 MB) or pass allow_convert=True"
    )
