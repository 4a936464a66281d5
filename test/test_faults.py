"""Faults at configure time: every one is a ConfigurationError that names the file or setting and the fix.

Missing or damaged converted models, a cache that cannot be written, a wrong ``mano_dir`` or a damaged MANO file,
a GPU backend on a machine without a GPU and unknown setting values; ``backend: auto`` falls back to ONNX Runtime
on the CPU and says so. Model files are copied into ``tmp_path`` before they are damaged. The last tests run the
nodes in this process: configure fails once with the message, the node stays unconfigured, and configures once
the fault is fixed.
"""

from __future__ import annotations

import os
import pickle
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture
from test_handmodel_mano import synthetic_mano_arrays

from hand_mesh_ros.errors import CacheNotWritableError, ConfigurationError, InvalidSettingError
from hand_mesh_ros.gpu.availability import BackendUnavailableError, probe
from hand_mesh_ros.handmodel import HandModelError, HandModelNotFoundError, load_mano
from hand_mesh_ros.perception import convert
from hand_mesh_ros.perception.backends import make_ort_session
from hand_mesh_ros.perception.landmark_model import LandmarkModel
from hand_mesh_ros.perception.model_cache import (
    CorruptModelError,
    ModelNotConvertedError,
    model_files,
    verify_files,
)
from hand_mesh_ros.perception.palm_model import PalmModel
from hand_mesh_ros.reconstruction import HandReconstructor, ReconstructionConfig

NAME = "palm_detection_lite"
REBUILD = "python -m hand_mesh_ros.perception.convert --variant lite --force"
NO_GPU = pytest.mark.skipif(probe("cuda:0").cuda, reason="this machine has a CUDA GPU")


def copy_model(source: Path, target: Path, name: str = NAME) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for f in model_files(name, source):
        shutil.copy(f, target / f.name)
    return target


def raises(kind: type[BaseException], fn: Callable[[], Any], *words: str) -> BaseException:
    """Run ``fn``; it must raise ``kind`` (a ConfigurationError) whose message has every one of ``words``."""
    with pytest.raises(kind) as info:
        fn()
    assert isinstance(info.value, ConfigurationError)
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"{missing} not in: {message}"
    return info.value


def flip_weights(onnx_path: Path) -> None:
    """Overwrite bytes inside the largest weight tensor: the file stays a valid ONNX model with wrong weights."""
    import onnx

    model = onnx.load(str(onnx_path))
    raw = max((t.raw_data for t in model.graph.initializer), key=len)
    data = bytearray(onnx_path.read_bytes())
    at = data.find(raw[:256])
    assert at > 0 and len(raw) > 1024
    data[at + 256: at + 768] = bytes(512)
    onnx_path.write_bytes(bytes(data))


def write_mano_files(folder: Path, seed: int = 0) -> None:
    """Plain-numpy MANO pickles (the real keys and shapes, random values) for both sides."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = synthetic_mano_arrays(seed)
    for side in ("RIGHT", "LEFT"):
        (folder / f"MANO_{side}.pkl").write_bytes(pickle.dumps(arrays, protocol=2))


@pytest.fixture()
def tmp_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder as $HAND_MESH_ROS_CACHE (MANO conversions land there, not in the real cache)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("HAND_MESH_ROS_CACHE", str(cache))
    return cache


# ---- (a) a converted model file is missing ------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["onnx", "pt", "json"])
def test_missing_model_file(converted_models: Path, tmp_path: Path, suffix: str) -> None:  # noqa: F811
    models = copy_model(converted_models, tmp_path / "models")
    (models / f"{NAME}.{suffix}").unlink()
    error = raises(ModelNotConvertedError, lambda: PalmModel("lite", models_dir=models),
                   f"{NAME}.{suffix}", "missing", "python -m hand_mesh_ros.perception.convert --variant lite")
    assert isinstance(error, FileNotFoundError)  # callers that catch FileNotFoundError keep working


# ---- (b) a converted model file is damaged ------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncated", "garbage"])
@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_damaged_model_file_cannot_load(converted_models: Path, tmp_path: Path,  # noqa: F811
                                        damage: str, backend: str) -> None:
    models = copy_model(converted_models, tmp_path / "models")
    _strip_recorded(models)  # as converted before sha256 were recorded: loading the file is the check
    pt, onnx_path, _ = model_files(NAME, models)
    path = onnx_path if backend == "onnxruntime" else pt
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3] if damage == "truncated" else os.urandom(len(data)))
    error = raises(CorruptModelError, lambda: PalmModel("lite", backend, "cpu", models_dir=models),
                   "corrupt cached model", str(path), REBUILD)
    assert error.__cause__ is not None  # the loader's own error, for the curious


def test_damaged_weights_are_caught_by_the_recorded_sha256(converted_models: Path,  # noqa: F811
                                                           tmp_path: Path) -> None:
    models = copy_model(converted_models, tmp_path / "models")
    assert convert.convert_models([NAME], models_dir=models) == []  # up to date: nothing converted...
    assert set(_recorded(models)) == {"pt", "onnx"}  # ...but its files' sha256 recorded (checked first)
    _, onnx_path, _ = model_files(NAME, models)
    flip_weights(onnx_path)
    make_ort_session(onnx_path)  # ONNX Runtime would run it, with wrong weights
    raises(CorruptModelError, lambda: PalmModel("lite", models_dir=models), "corrupt cached model", str(onnx_path),
           "sha256", REBUILD)
    assert not convert.files_intact(NAME, models)  # the converter would convert it again


def test_files_that_disagree_are_not_trusted(converted_models: Path, tmp_path: Path) -> None:  # noqa: F811
    """A cache converted before sha256 were recorded: the converter checks the .pt against the .onnx."""
    models = copy_model(converted_models, tmp_path / "models")
    _strip_recorded(models)
    flip_weights(model_files(NAME, models)[1])
    assert not convert.files_intact(NAME, models)
    assert "sha256" not in _read_meta(models)  # nothing recorded for damaged files


def test_unreadable_metadata(converted_models: Path, tmp_path: Path) -> None:  # noqa: F811
    models = copy_model(converted_models, tmp_path / "models")
    model_files(NAME, models)[2].write_text("{not json")
    raises(ModelNotConvertedError, lambda: PalmModel("lite", models_dir=models), f"{NAME}.json", "unreadable",
           "--variant lite")


def test_damaged_file_is_rebuilt_when_converting_is_allowed(converted_models: Path, tmp_path: Path,  # noqa: F811
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    models = copy_model(converted_models, tmp_path / "models")
    _, onnx_path, _ = model_files(NAME, models)
    onnx_path.write_bytes(b"garbage")
    calls: list[tuple[list[str], bool]] = []

    def reconvert(names: list[str], models_dir: Path | None = None, force: bool = False, **_: Any) -> list[str]:
        calls.append((names, force))
        copy_model(converted_models, models)  # stands in for the converter (tested in test_perception_convert)
        return names

    monkeypatch.setattr(convert, "convert_models", reconvert)
    logged: list[str] = []
    model = PalmModel("lite", models_dir=models, allow_convert=True, log=logged.append)
    assert model.backend.name == "onnxruntime (cpu)" and calls == [([NAME], True)]
    assert len(logged) == 1 and "corrupt cached model" in logged[0] and "rebuilding it" in logged[0]
    onnx_path.write_bytes(b"garbage")  # still damaged after the rebuild: the error, not a loop
    monkeypatch.setattr(convert, "convert_models", lambda *a, **k: [NAME])
    raises(CorruptModelError, lambda: PalmModel("lite", models_dir=models, allow_convert=True, log=logged.append),
           str(onnx_path))


def _read_meta(models: Path) -> dict[str, Any]:
    import json

    return json.loads(model_files(NAME, models)[2].read_text())


def _recorded(models: Path) -> dict[str, str]:
    return _read_meta(models).get("sha256", {})


def _strip_recorded(models: Path) -> None:
    import json

    meta = _read_meta(models)
    meta.pop("sha256", None)
    model_files(NAME, models)[2].write_text(json.dumps(meta))


# ---- (c) the cache cannot be written while a conversion is needed ----------------------------------------------
def _no_download(*args: Any, **kwargs: Any) -> Path:
    raise AssertionError("downloaded although the cache cannot be written")


def test_read_only_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders (test_unwritable_cache_is_reported_first simulates it)")
    models = tmp_path / "models"
    models.mkdir()
    models.chmod(0o555)
    monkeypatch.setattr(convert, "download_wheel", _no_download)
    try:
        raises(CacheNotWritableError, lambda: PalmModel("lite", models_dir=models, allow_convert=True),
               str(models), "not writable", "HAND_MESH_ROS_CACHE")
        assert list(models.iterdir()) == []
    finally:
        models.chmod(0o755)


def test_unwritable_cache_is_reported_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root (who writes anywhere) the write test is made to fail as it would in a read-only folder."""
    models = tmp_path / "models"
    models.mkdir()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(convert.tempfile, "mkstemp", refuse)
    monkeypatch.setattr(convert, "download_wheel", _no_download)
    error = raises(CacheNotWritableError, lambda: PalmModel("lite", models_dir=models, allow_convert=True),
                   str(models), "not writable", "Permission denied", "HAND_MESH_ROS_CACHE")
    assert isinstance(error.__cause__, PermissionError)


def test_cache_folder_that_cannot_be_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("HAND_MESH_ROS_CACHE", str(blocker / "cache"))
    raises(CacheNotWritableError, lambda: PalmModel("lite"), "cannot create the cache folder", str(blocker),
           "HAND_MESH_ROS_CACHE")
    # MANO's converted-array cache only saves time: without a cache the pickle is converted on every load
    write_mano_files(tmp_path / "mano")
    assert load_mano(tmp_path / "mano", "right").name == "mano"


# ---- (d) mano_dir is wrong or its files are damaged ---------------------------------------------------------------
def _reconstructor(mano_dir: Path) -> Callable[[], Any]:
    return lambda: HandReconstructor(ReconstructionConfig(hand_model="mano", mano_dir=str(mano_dir)))


def test_mano_dir_does_not_exist(tmp_cache: Path, tmp_path: Path) -> None:
    threads = threading.active_count()
    raises(HandModelNotFoundError, _reconstructor(tmp_path / "nowhere"), "mano_dir", str(tmp_path / "nowhere"),
           "does not exist", "leave mano_dir empty")
    assert threading.active_count() == threads


def test_mano_dir_without_mano_files(tmp_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mano"
    folder.mkdir()
    (folder / "SMPLH_male.pkl").write_bytes(b"")
    raises(HandModelNotFoundError, _reconstructor(folder), "MANO_RIGHT.pkl", str(folder), "SMPLH_male.pkl")
    write_mano_files(folder / "models")  # the download's top folder instead of its models/ folder
    raises(HandModelNotFoundError, _reconstructor(folder), "set mano_dir to that folder", str(folder / "models"))
    raises(InvalidSettingError, lambda: ReconstructionConfig(hand_model="mano"), "mano_dir is empty")


@pytest.mark.parametrize("content", ["truncated", "garbage", "not_a_dict", "foreign_global", "wrong_shape"])
def test_damaged_mano_file(tmp_cache: Path, tmp_path: Path, content: str) -> None:
    folder = tmp_path / "mano"
    write_mano_files(folder)
    path = folder / "MANO_RIGHT.pkl"
    arrays = synthetic_mano_arrays(0)
    if content == "truncated":
        path.write_bytes(path.read_bytes()[:5000])
    elif content == "garbage":
        path.write_bytes(os.urandom(5000))
    elif content == "not_a_dict":
        path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    elif content == "foreign_global":
        path.write_bytes(pickle.dumps({"v_template": Path("/etc/passwd")}, protocol=2))
    else:
        path.write_bytes(pickle.dumps({**arrays, "weights": arrays["weights"][:, :15]}, protocol=2))
    error = raises(HandModelError, _reconstructor(folder), str(path), "MANO_RIGHT.pkl and MANO_LEFT.pkl",
                   "open hand model")
    assert error.__cause__ is not None
    assert not list((tmp_cache / "mano").glob("*.npz"))  # nothing cached from a damaged file


def test_damaged_mano_cache_entry_is_rebuilt(tmp_cache: Path, tmp_path: Path) -> None:
    write_mano_files(tmp_path / "mano")
    first = load_mano(tmp_path / "mano", "right")
    (cached,) = (tmp_cache / "mano").glob("mano_right_*.npz")
    cached.write_bytes(b"damaged")
    again = load_mano(tmp_path / "mano", "right")
    np.testing.assert_array_equal(again.v_template, first.v_template)
    assert cached.stat().st_size > 1000  # written again


# ---- (e) a GPU backend on a machine without one ----------------------------------------------------------------
@NO_GPU
def test_gpu_backend_without_gpu(tmp_path: Path) -> None:
    empty = tmp_path / "models"  # the backend is checked before the models: no conversion in vain
    empty.mkdir()
    for device in ("cuda", "cuda:0", "auto"):
        raises(BackendUnavailableError, lambda d=device: PalmModel("lite", "tensorrt", d, models_dir=empty),
               "tensorrt backend cannot run here", "CUDA", "backend 'auto'")
    for device in ("cuda", "cuda:1"):
        raises(BackendUnavailableError, lambda d=device: LandmarkModel("lite", "torch", d, models_dir=empty),
               f"device {device} requested for the torch backend", "device 'auto' or 'cpu'")
    raises(BackendUnavailableError, lambda: PalmModel("lite", "tensorrt", "cpu", models_dir=empty),
           "not device 'cpu'")


@NO_GPU
def test_auto_backend_falls_back_to_the_cpu_and_says_so(converted_models: Path) -> None:  # noqa: F811
    for device in ("auto", "cuda"):
        logged: list[str] = []
        model = PalmModel("lite", "auto", device, models_dir=converted_models, log=logged.append)
        assert model.backend.name == "onnxruntime (cpu)"
        assert len(logged) == 1 and logged[0].startswith(f"{NAME}: backend auto runs ONNX Runtime on the CPU (")
    logged = []
    PalmModel("lite", "auto", "cpu", models_dir=converted_models, log=logged.append)
    assert logged == []  # the CPU was asked for: nothing fell back


# ---- (f) unknown setting values ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("field", "value"), [("model_variant", "huge"), ("backend", "openvino"),
                                              ("device", "gpu"), ("precision", "bf16")])
def test_unknown_setting_values(field: str, value: str) -> None:
    error = raises(InvalidSettingError, lambda: ReconstructionConfig(**{field: value}), field, repr(value))
    assert isinstance(error, ValueError)


def test_unknown_names_in_the_core(tmp_path: Path) -> None:
    raises(InvalidSettingError, lambda: PalmModel("huge", models_dir=tmp_path), "model_variant", "'huge'")
    raises(InvalidSettingError, lambda: PalmModel("lite", "openvino", models_dir=tmp_path), "'openvino'",
           "onnxruntime")
    raises(InvalidSettingError, lambda: PalmModel("lite", "torch", "gpu0", models_dir=tmp_path), "'gpu0'")
    raises(InvalidSettingError, lambda: model_files("palm_detection_huge"), "palm_detection_huge")
    verify_files(NAME, models_dir=tmp_path)  # nothing recorded, nothing to check: no error


# ---- the nodes -----------------------------------------------------------------------------------------------------
def _capture_errors(node: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    errors: list[str] = []
    monkeypatch.setattr(node.get_logger(), "error", lambda message, **kw: errors.append(message))
    return errors


@pytest.mark.ros
def test_reconstruction_node_stays_unconfigured_until_mano_dir_is_fixed(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, converted_models, tmp_cache, tmp_path, monkeypatch) -> None:  # noqa: F811
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.reconstruction_node import ReconstructionNode

    (tmp_cache / "models").symlink_to(converted_models, target_is_directory=True)  # the networks, unchanged
    folder = tmp_path / "mano"
    node = ReconstructionNode(context=ros_context, parameter_overrides=[
        Parameter("hand_model", value="mano"), Parameter("mano_dir", value=str(folder))])
    try:
        errors = _capture_errors(node, monkeypatch)
        threads = threading.active_count()
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node._state_machine.current_state[1] == "unconfigured"
        assert len(errors) == 1, errors
        assert errors[0].startswith("cannot configure the reconstruction: mano_dir")
        assert str(folder) in errors[0] and "does not exist" in errors[0]
        assert node._rec is None and threading.active_count() == threads
        good = tmp_path / "mano_models"  # the user points mano_dir at the right folder and configures again
        write_mano_files(good)
        result = node.set_parameters([Parameter("mano_dir", value=str(good))])[0]
        assert result.successful, result.reason
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node._rec is not None and node._rec.model_name == "mano" and len(errors) == 1
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
    finally:
        node.destroy_node()


@pytest.mark.ros
@NO_GPU
def test_detector_node_refuses_a_gpu_backend_without_a_gpu(  # type: ignore[no-untyped-def]
        ros_context, ros_messages, monkeypatch) -> None:
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter

    from hand_mesh_ros.ros.detector_node import DetectorNode

    node = DetectorNode(context=ros_context, parameter_overrides=[
        Parameter("backend", value="tensorrt"), Parameter("device", value="cuda")])
    try:
        errors = _capture_errors(node, monkeypatch)
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE
        assert node._state_machine.current_state[1] == "unconfigured"
        assert len(errors) == 1 and errors[0].startswith("cannot configure the palm detector: the tensorrt backend "
                                                         "cannot run here")
        assert node.trigger_configure() == TransitionCallbackReturn.FAILURE and len(errors) == 2  # no loop
    finally:
        node.destroy_node()
