"""The on-disk cache of TensorRT engines: one file per model, precision, batch profile, ONNX, GPU and TensorRT.

An engine only runs on the GPU model and TensorRT version that built it, and only matches the ONNX file it was
built from, so all of these are part of its key; a change of any of them selects another file, which is then
built. Older engines of the same model and precision are deleted when a new one is written. Each engine has a
JSON sidecar with its key and sha256, so a truncated or damaged file is detected and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..paths import cache_dir

PRECISIONS = ("fp16", "fp32", "int8")


@dataclass(frozen=True)
class BatchProfile:
    """TensorRT optimisation profile of the batch axis: smallest, tuned-for and largest batch."""

    min: int = 1
    opt: int = 1
    max: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.min <= self.opt <= self.max:
            raise ValueError(f"batch profile needs 1 <= min <= opt <= max, got {self.min}, {self.opt}, {self.max}")

    def __str__(self) -> str:
        return f"b{self.min}-{self.opt}-{self.max}"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on."""

    model: str
    precision: str
    profile: BatchProfile
    onnx_sha256: str
    gpu: str
    compute_capability: str
    tensorrt: str

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    @property
    def stem(self) -> str:
        return f"{self.model}_{self.precision}"

    def filename(self) -> str:
        return f"{self.stem}_{self.profile}_{self.digest()[:16]}.engine"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def engine_dir() -> Path:
    return cache_dir("engines")


def cached_engine(key: EngineKey, directory: Path | None = None) -> Path | None:
    """The engine file for ``key`` when it exists and matches its sidecar, else None."""
    path = (directory or engine_dir()) / key.filename()
    meta = path.with_suffix(".json")
    if not (path.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    if info.get("key_digest") != key.digest() or info.get("sha256") != file_sha256(path):
        return None
    return path


def load_or_build(
    key: EngineKey,
    build: Callable[[], bytes],
    directory: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[Path, bool]:
    """Return (engine path, built now?): the cached engine for ``key``, or ``build()``'s bytes written there.

    The file is written atomically (a crash leaves no half engine); older engines of the same model and
    precision are removed afterwards.
    """
    directory = directory or engine_dir()
    directory.mkdir(parents=True, exist_ok=True)
    if not force and (path := cached_engine(key, directory)) is not None:
        log(f"{key.stem}: using cached engine {path.name}")
        return path, False
    log(f"{key.stem}: building a TensorRT engine ({key.profile}, {key.gpu}, TensorRT {key.tensorrt}); "
        "this takes from seconds to minutes and happens once per GPU, TensorRT version and model")
    t0 = time.perf_counter()
    data = build()
    if not data:
        raise RuntimeError(f"{key.stem}: the engine build returned nothing")
    path = directory / key.filename()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
    meta = {"key": asdict(key), "key_digest": key.digest(), "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "build_seconds": round(time.perf_counter() - t0, 2)}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    for old in directory.glob(f"{key.stem}_{key.profile}_*.engine"):
        if old != path:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    log(f"{key.stem}: engine written to {path} ({len(data) / 2**20:.1f} MiB, {meta['build_seconds']} s)")
    return path, True
