"""The cache of converted MediaPipe models: file names, variants, output names, and whether they are there.

Imports neither torch nor ONNX, so running the converted models does not need them; converting does
(:mod:`hand_mesh_ros.perception.convert`). The converter records the sha256 of each file it writes in the
model's ``.json``; :func:`verify_files` checks them before a file is used, so a damaged or replaced file is
refused with :class:`CorruptModelError` instead of running (a bit flip in the weights still loads).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ConfigurationError, InvalidSettingError
from ..paths import cache_dir
from .sources import CONVERT_COMMAND, SOURCES, sha256_of

FORMAT_VERSION = 4  # bump when the exported graphs change; older caches are rebuilt
VARIANTS = {
    "full": ["palm_detection_full", "hand_landmark_full"],
    "lite": ["palm_detection_lite", "hand_landmark_lite"],
}
OUTPUT_NAMES = {
    "palm_detection": ["boxes", "scores"],
    "hand_landmark": ["landmarks", "presence", "handedness", "world_landmarks"],
}
FILE_KINDS = ("pt", "onnx")  # the files whose sha256 the metadata records


class ModelNotConvertedError(ConfigurationError, FileNotFoundError):
    """A converted model is missing or stale in the cache; the message names the command that fixes it."""


class CorruptModelError(ConfigurationError):
    """A converted model file exists but is damaged: it does not match its recorded sha256 or cannot be loaded."""


def model_files(name: str, models_dir: Path | None = None) -> tuple[Path, Path, Path]:
    """Return the (.pt, .onnx, .json) paths of a converted model."""
    if name not in SOURCES:
        raise InvalidSettingError(f"unknown model {name!r}; expected one of {sorted(SOURCES)}")
    d = models_dir or cache_dir("models")
    return d / f"{name}.pt", d / f"{name}.onnx", d / f"{name}.json"


def convert_command(name: str, force: bool = False) -> str:
    """The shell command that (re)converts model ``name`` (its variant only)."""
    return f"{CONVERT_COMMAND} --variant {name.rsplit('_', 1)[1]}" + (" --force" if force else "")


def file_checksums(name: str, models_dir: Path | None = None) -> dict[str, str]:
    """The sha256 of the .pt and .onnx files of ``name`` as they are now (the converter records these)."""
    pt, onnx_path, _ = model_files(name, models_dir)
    return {"pt": sha256_of(pt), "onnx": sha256_of(onnx_path)}


def conversion_problem(name: str, models_dir: Path | None = None) -> str | None:
    """Why ``name`` is not usable from the cache as converted by this converter, or None when it is."""
    files = model_files(name, models_dir)
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        info = json.loads(files[2].read_text())
    except (OSError, ValueError) as exc:
        return f"its metadata {files[2].name} is unreadable ({type(exc).__name__}: {exc})"
    if not isinstance(info, dict):
        return f"its metadata {files[2].name} is not a JSON object"
    if info.get("source_sha256") != SOURCES[name].sha256:
        return "it was converted from another source file"
    if info.get("format") != FORMAT_VERSION:
        return f"it was converted by an older converter (format {info.get('format')}, now {FORMAT_VERSION})"
    return None


def is_converted(name: str, models_dir: Path | None = None) -> bool:
    """True when all outputs of ``name`` exist and were made from the expected source by this converter."""
    return conversion_problem(name, models_dir) is None


def require_converted(name: str, models_dir: Path | None = None, allow_convert: bool = False) -> None:
    """Make sure ``name`` is converted: convert it when ``allow_convert``, else raise
    ModelNotConvertedError saying what is missing and the command to run."""
    problem = conversion_problem(name, models_dir)
    if problem is None:
        return
    if allow_convert:
        from .convert import convert_models  # torch is imported only when converting

        convert_models([name], models_dir=models_dir)
        return
    pt, _, _ = model_files(name, models_dir)
    raise ModelNotConvertedError(
        f"converted model {name} ({pt.name}, .onnx, .json) is not usable in {pt.parent}: {problem}; run "
        f"`{convert_command(name)}` once (it downloads the mediapipe==0.10.21 wheel, about 35 MB) or pass "
        "allow_convert=True"
    )


def verify_files(name: str, kinds: tuple[str, ...] = FILE_KINDS, models_dir: Path | None = None) -> None:
    """Check the files ``kinds`` ("pt", "onnx") of converted model ``name`` against the sha256 its metadata
    recorded; CorruptModelError naming the file and the fix when one differs. Metadata written before the
    checksums were recorded has none: then nothing is checked (a file that cannot be loaded is still refused
    by the backend)."""
    pt, onnx_path, meta = model_files(name, models_dir)
    try:
        recorded = json.loads(meta.read_text()).get("sha256") or {}
    except (OSError, ValueError, AttributeError):
        recorded = {}
    paths = {"pt": pt, "onnx": onnx_path}
    for kind in kinds:
        expected = recorded.get(kind)
        if not expected:
            continue
        try:
            actual = sha256_of(paths[kind])
        except OSError as exc:
            raise CorruptModelError(f"cannot read cached model {paths[kind]}: {exc.strerror or exc}; "
                                    f"{corrupt_advice(name)}") from exc
        if actual != expected:
            raise CorruptModelError(f"corrupt cached model {paths[kind]}: its sha256 differs from the one recorded "
                                    f"when it was converted (damaged or replaced); {corrupt_advice(name)}")


def corrupt_advice(name: str) -> str:
    """What to do about a damaged file of converted model ``name``."""
    return f"delete it or run `{convert_command(name, force=True)}` to rebuild it"
