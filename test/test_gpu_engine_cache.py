"""The TensorRT engine cache: keys, rebuilds, damaged files (the build itself is a stand-in function here;
test_gpu_tensorrt.py builds real engines on a GPU)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from hand_mesh_ros.gpu.engine_cache import BatchProfile, EngineKey, cached_engine, load_or_build

KEY = EngineKey("hand_landmark_full", "fp16", BatchProfile(1, 2, 8), "ab" * 32, "NVIDIA H100", "9.0", "10.16.1")


class Builder:
    """Counts builds and returns distinct bytes each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return f"engine {self.calls}".encode() * 100


def test_built_once_then_cached(tmp_path: Path) -> None:
    build = Builder()
    path, built = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    assert built and build.calls == 1 and path.read_bytes() == b"engine 1" * 100
    again, built = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    assert again == path and not built and build.calls == 1
    _, built = load_or_build(KEY, build, tmp_path, force=True, log=lambda m: None)
    assert built and build.calls == 2


@pytest.mark.parametrize("change", [{"onnx_sha256": "cd" * 32}, {"gpu": "Orin"}, {"compute_capability": "8.7"},
                                    {"tensorrt": "11.4.0"}])
def test_any_key_change_rebuilds_and_replaces(tmp_path: Path, change: dict[str, str]) -> None:
    build = Builder()
    old, _ = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    new, built = load_or_build(replace(KEY, **change), build, tmp_path, log=lambda m: None)
    assert built and new != old and build.calls == 2
    assert not old.exists() and not old.with_suffix(".json").exists()  # the stale engine is gone
    assert [p.name for p in tmp_path.glob("*.engine")] == [new.name]


def test_other_profiles_and_precisions_are_kept(tmp_path: Path) -> None:
    build = Builder()
    a, _ = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    b, _ = load_or_build(replace(KEY, profile=BatchProfile(1, 64, 128)), build, tmp_path, log=lambda m: None)
    c, _ = load_or_build(replace(KEY, precision="fp32"), build, tmp_path, log=lambda m: None)
    assert len({a, b, c}) == 3 and all(p.exists() for p in (a, b, c))


def test_damaged_engine_is_rebuilt(tmp_path: Path) -> None:
    build = Builder()
    path, _ = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    path.write_bytes(path.read_bytes()[:50])  # truncated, e.g. by a full disk
    assert cached_engine(KEY, tmp_path) is None
    _, built = load_or_build(KEY, build, tmp_path, log=lambda m: None)
    assert built and cached_engine(KEY, tmp_path) == path


def test_progress_is_reported(tmp_path: Path) -> None:
    messages: list[str] = []
    load_or_build(KEY, Builder(), tmp_path, log=messages.append)
    assert "building a TensorRT engine" in messages[0] and "engine written" in messages[-1]


def test_invalid_inputs() -> None:
    with pytest.raises(ValueError, match="batch profile"):
        BatchProfile(2, 1, 4)
    with pytest.raises(ValueError, match="precision"):
        replace(KEY, precision="bf16")
    with pytest.raises(RuntimeError, match="returned nothing"):
        load_or_build(KEY, lambda: b"", Path("/tmp/never_written"), log=lambda m: None)
