"""Model conversion: checksums, clear errors for missing/corrupt models, idempotency, graph parsing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from perception_fixtures import converted_models  # noqa: F401 - fixture

from hand_mesh_ros.perception.convert import convert_models
from hand_mesh_ros.perception.model_cache import (
    ModelNotConvertedError,
    is_converted,
    model_files,
    require_converted,
)
from hand_mesh_ros.perception.palm_model import PalmModel
from hand_mesh_ros.perception.sources import SOURCES, extract_tflite, sha256_of
from hand_mesh_ros.perception.tflite_reader import read_tflite


def test_missing_model_error_names_file_and_command(tmp_path: Path) -> None:
    with pytest.raises(ModelNotConvertedError) as info:
        require_converted("palm_detection_full", tmp_path)
    msg = str(info.value)
    assert "palm_detection_full.pt" in msg and "python -m hand_mesh_ros.perception.convert" in msg
    with pytest.raises(ModelNotConvertedError):
        PalmModel("full", models_dir=tmp_path)


def test_unknown_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown model"):
        model_files("palm_detection_huge")
    with pytest.raises(ValueError, match="variant"):
        PalmModel("medium")


def test_corrupt_or_foreign_wheel_gives_clear_error(tmp_path: Path) -> None:
    wheel = tmp_path / "mediapipe-0.10.21-fake.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(SOURCES["palm_detection_full"].member, b"not a model")
    with pytest.raises(ValueError, match="unexpected sha256"):
        extract_tflite(wheel, ["palm_detection_full"], tmp_path)
    with pytest.raises(ValueError, match="no member"):
        extract_tflite(wheel, ["hand_landmark_full"], tmp_path)


def test_conversion_is_idempotent_and_verified(converted_models: Path) -> None:  # noqa: F811
    names = list(SOURCES)
    assert all(is_converted(n, converted_models) for n in names)
    assert convert_models(names, models_dir=converted_models) == []
    for name in names:
        tflite = converted_models / "tflite" / f"{name}.tflite"
        assert sha256_of(tflite) == SOURCES[name].sha256
        meta = json.loads(model_files(name, converted_models)[2].read_text())
        assert meta["source_sha256"] == SOURCES[name].sha256
        assert meta["onnx_vs_torch_max_abs"] < 1e-3


def test_stale_metadata_is_detected(converted_models: Path, tmp_path: Path) -> None:  # noqa: F811
    for f in model_files("hand_landmark_lite", converted_models):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    assert is_converted("hand_landmark_lite", tmp_path)
    meta = tmp_path / "hand_landmark_lite.json"
    meta.write_text(json.dumps({"format": json.loads(meta.read_text())["format"], "source_sha256": "0" * 64}))
    assert not is_converted("hand_landmark_lite", tmp_path)


def test_tflite_reader_folds_fp16_weights(converted_models: Path) -> None:  # noqa: F811
    graph = read_tflite(converted_models / "tflite" / "palm_detection_full.tflite")
    kinds = {op.kind for op in graph.ops}
    assert "DEQUANTIZE" not in kinds and "CONV_2D" in kinds and "RESIZE_BILINEAR" in kinds
    first_conv = next(op for op in graph.ops if op.kind == "CONV_2D")
    weights = graph.const(first_conv.inputs[1])
    assert weights.dtype == np.float32 and weights.shape == (32, 5, 5, 3)
    assert graph.tensors[graph.inputs[0]].shape == (1, 192, 192, 3)
    assert [graph.tensors[i].shape for i in graph.outputs] == [(1, 2016, 18), (1, 2016, 1)]


def test_exported_graphs_have_padding_folded_into_convs(converted_models: Path) -> None:  # noqa: F811
    import onnx

    landmark = onnx.load(str(model_files("hand_landmark_full", converted_models)[1]))
    kinds = [n.op_type for n in landmark.graph.node]
    assert "Pad" not in kinds and "PRelu" not in kinds
    assert any(
        a.name == "pads" and list(a.ints) == [0, 0, 1, 1]
        for n in landmark.graph.node
        if n.op_type == "Conv"
        for a in n.attribute
    ), "the stride-2 convolutions should carry TF's asymmetric SAME padding"
    palm = onnx.load(str(model_files("palm_detection_full", converted_models)[1]))
    # no Pad (the channel pads are 1x1 convolutions), no PRelu, no Clip, no Neg (PReLU is relu, products and a sum)
    kinds = [n.op_type for n in palm.graph.node]
    assert not {"Pad", "PRelu", "Clip", "Neg"} & set(kinds)
    batch = palm.graph.input[0].type.tensor_type.shape.dim[0].dim_param
    assert batch == "batch"


def test_onnx_runtime_keeps_the_palm_detector_in_its_blocked_layout(converted_models: Path,  # noqa: F811
                                                                    tmp_path: Path) -> None:
    """The speed of the palm detector on the CPU depends on ONNX Runtime not converting layouts around each
    activation: with the clamp form of PReLU and channel Pads it inserted 70 conversions, now 8."""
    import onnx
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.optimized_model_filepath = str(tmp_path / "palm_optimized.onnx")
    ort.InferenceSession(str(model_files("palm_detection_full", converted_models)[1]), options,
                         providers=["CPUExecutionProvider"])
    kinds = [n.op_type for n in onnx.load(options.optimized_model_filepath).graph.node]
    assert kinds.count("ReorderInput") + kinds.count("ReorderOutput") <= 10, kinds


def test_prelu_and_channel_pad_layers_compute_the_tflite_ops() -> None:
    import torch
    import torch.nn.functional as F

    from hand_mesh_ros.perception.layers import ChannelPad, PRelu

    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 6)
    prelu = PRelu(5)
    with torch.no_grad():
        prelu.weight.copy_(torch.tensor([-4.5, 0.0, 0.25, 1.0, 12.2]))  # the palm model's slopes span this range
        alpha = prelu.weight.view(1, -1, 1, 1)
        torch.testing.assert_close(prelu(x), torch.clamp(x, min=0) + alpha * torch.clamp(x, max=0),
                                   rtol=0, atol=0)  # the same arithmetic
    padded = ChannelPad([[0, 0], [0, 0], [0, 0], [2, 3]], channels=5)
    assert padded.identity is not None  # channels only: a 1x1 convolution
    torch.testing.assert_close(padded(x), F.pad(x, (0, 0, 0, 0, 2, 3)), rtol=0, atol=0)
    spatial = ChannelPad([[0, 0], [1, 0], [0, 2], [0, 1]], channels=5)
    assert spatial.identity is None
    torch.testing.assert_close(spatial(x), F.pad(x, (0, 2, 1, 0, 0, 1)), rtol=0, atol=0)


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_corrupt_converted_file_gives_clear_error(
    converted_models: Path,  # noqa: F811
    tmp_path: Path,
    backend: str,
) -> None:
    from hand_mesh_ros.perception.backends import CorruptModelError

    for f in model_files("palm_detection_lite", converted_models):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    pt, onnx_path, _ = model_files("palm_detection_lite", tmp_path)
    (onnx_path if backend == "onnxruntime" else pt).write_bytes(b"truncated")
    with pytest.raises(CorruptModelError) as info:
        PalmModel("lite", backend, models_dir=tmp_path)
    assert "palm_detection_lite" in str(info.value) and "--force" in str(info.value)
