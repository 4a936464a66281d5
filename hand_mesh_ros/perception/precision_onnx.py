"""ONNX files of the networks in the precision a TensorRT engine runs them in, exported from PyTorch.

TensorRT 11 builds only strongly typed networks (the builder's FP16/INT8 flags are gone), and TensorRT 10
accepts them too, so the precision is decided here, in the PyTorch source of truth, and baked into the ONNX:

- ``fp32``: the converter's ONNX file as it is;
- ``fp16``: the network in half precision with float32 input and outputs; the final fully connected heads
  (which turn features into pixel coordinates up to 224) stay in float32, where fp16's 1/8-px spacing at 128..256
  would cost landmark accuracy for no measurable speed;
- ``int8``: see :mod:`.int8_qdq` (explicit quantize/dequantize nodes from a calibration set).

Files are cached next to the converted models (``<name>.<precision>.onnx``) with a sidecar naming the ``.pt``
they came from; a changed ``.pt`` re-exports them.
"""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import torch
from torch import nn

from ..gpu.engine_cache import PRECISIONS, file_sha256
from .convert import torch_to_onnx
from .graph_net import TfliteGraphNet
from .layers import Dense
from .model_cache import model_files, require_converted

EXPORT_FORMAT = 1  # bump when the exported graphs change


def load_net(name: str, models_dir: Path | None = None) -> TfliteGraphNet:
    """The float32 PyTorch network of converted model ``name`` (CPU, eval mode)."""
    require_converted(name, models_dir)
    pt, _, _ = model_files(name, models_dir)
    return TfliteGraphNet.from_file(pt)


class _Float32Head(nn.Module):
    """A fully connected layer kept in float32 inside a half-precision network; its output stays float32 (in
    these models the heads feed only the outputs and their sigmoids)."""

    def __init__(self, dense: Dense) -> None:
        super().__init__()
        self.dense = dense.float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x.float())


class HalfPrecisionNet(nn.Module):
    """``net`` in float16 (fully connected heads in float32) behind float32 input and outputs."""

    def __init__(self, net: TfliteGraphNet) -> None:
        super().__init__()
        self.net = net.half()
        for key, layer in list(self.net.layers.items()):
            if isinstance(layer, Dense):
                self.net.layers[key] = _Float32Head(layer)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(o.float() for o in self.net(x.half()))


def precision_net(name: str, precision: str, models_dir: Path | None = None) -> nn.Module:
    """The PyTorch module whose ONNX export a ``precision`` engine is built from (fp32 or fp16)."""
    net = load_net(name, models_dir)
    if precision == "fp32":
        return net
    if precision == "fp16":
        return HalfPrecisionNet(net).eval()
    raise ValueError(f"precision_net handles fp32 and fp16; int8 is made by int8_qdq, got {precision!r}")


def export(module: nn.Module, name: str, path: Path) -> None:
    """Export ``module`` (NHWC float32 input named "image", dynamic batch) to ONNX at ``path``, atomically."""
    tmp = path.with_suffix(".onnx.tmp")
    torch_to_onnx(module, name, tmp)
    onnx.checker.check_model(onnx.load(str(tmp)))
    tmp.replace(path)


def precision_onnx(
    name: str,
    precision: str,
    models_dir: Path | None = None,
    calibration: Path | None = None,
    log=print,
) -> Path:
    """Path of the ONNX file a ``precision`` engine of ``name`` is built from, exporting it when stale.

    ``calibration``: folder of images for int8 (see :mod:`.int8_qdq`); ignored otherwise.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    require_converted(name, models_dir)
    pt, onnx_fp32, _ = model_files(name, models_dir)
    if precision == "fp32":
        return onnx_fp32
    path = onnx_fp32.with_name(f"{name}.{precision}.onnx")
    meta = path.with_suffix(".json")
    want = {"format": EXPORT_FORMAT, "source_pt_sha256": file_sha256(pt)}
    try:
        have = json.loads(meta.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        have = {}
    if precision == "int8":
        from .int8_qdq import calibration_fingerprint

        if calibration is None:  # the nodes: use what build_engines calibrated, whatever the images were
            if {k: have.get(k) for k in want} == want:
                return path
            raise ValueError(f"no int8 model of {name} yet: calibrate it once with `python -m "
                             "hand_mesh_ros.perception.build_engines --precision int8 --calibration DIR`")
        want["calibration"] = calibration_fingerprint(calibration)
    if have == want:
        return path
    log(f"{name}: exporting the {precision} ONNX model from PyTorch")
    if precision == "int8":
        from .int8_qdq import quantized_net

        module = quantized_net(name, models_dir, calibration, log)
    else:
        module = precision_net(name, precision, models_dir)
    export(module, name, path)
    if precision == "int8":
        from .int8_qdq import fold_qdq_parameters

        model = onnx.load(str(path))
        fold_qdq_parameters(model)
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    meta.write_text(json.dumps(want))
    log(f"{name}: wrote {path}")
    return path
