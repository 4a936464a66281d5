"""Read a TensorFlow Lite flatbuffer into plain numpy tensors and a list of operators.

Only the subset of TFLite needed by the MediaPipe Hands models is supported. Constant tensors stored as
float16 behind ``DEQUANTIZE`` operators are folded into float32 constants, so the returned graph contains
only the compute operators. Tensor layouts are TFLite's (activations NHWC, conv kernels OHWI).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_TFLITE_DTYPES: dict[int, type] = {
    0: np.float32,
    1: np.float16,
    2: np.int32,
    3: np.uint8,
    4: np.int64,
    9: np.int8,
}


@dataclass
class TfliteTensor:
    """One tensor of the graph: its name, static shape, dtype and (for constants) its float32/int data."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: type
    data: np.ndarray | None


@dataclass
class TfliteOp:
    """One operator: its builtin name, input/output tensor indices and decoded options."""

    kind: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class TfliteGraph:
    """A single-subgraph TFLite model with constants resolved and dequantize nodes folded."""

    tensors: dict[int, TfliteTensor]
    ops: list[TfliteOp]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]

    def const(self, index: int) -> np.ndarray:
        """Return the constant data of tensor ``index`` or raise if it is an activation."""
        data = self.tensors[index].data
        if data is None:
            raise ValueError(f"tensor {self.tensors[index].name!r} is not a constant")
        return data


def _operator_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _decode_options(kind: str, op: object) -> dict[str, object]:
    """Decode the builtin options we rely on into a plain dict."""
    import tflite

    table = op.BuiltinOptions()  # type: ignore[attr-defined]
    if table is None:
        return {}

    def load(cls: type) -> object:
        obj = cls()
        obj.Init(table.Bytes, table.Pos)
        return obj

    if kind == "CONV_2D":
        o = load(tflite.Conv2DOptions)
        return {
            "padding": o.Padding(),
            "stride": (o.StrideH(), o.StrideW()),
            "dilation": (o.DilationHFactor(), o.DilationWFactor()),
            "act": o.FusedActivationFunction(),
        }
    if kind == "DEPTHWISE_CONV_2D":
        o = load(tflite.DepthwiseConv2DOptions)
        return {
            "padding": o.Padding(),
            "stride": (o.StrideH(), o.StrideW()),
            "dilation": (o.DilationHFactor(), o.DilationWFactor()),
            "act": o.FusedActivationFunction(),
            "multiplier": o.DepthMultiplier(),
        }
    if kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        o = load(tflite.Pool2DOptions)
        return {
            "padding": o.Padding(),
            "stride": (o.StrideH(), o.StrideW()),
            "kernel": (o.FilterHeight(), o.FilterWidth()),
            "act": o.FusedActivationFunction(),
        }
    if kind == "ADD":
        return {"act": load(tflite.AddOptions).FusedActivationFunction()}
    if kind == "CONCATENATION":
        o = load(tflite.ConcatenationOptions)
        return {"axis": o.Axis(), "act": o.FusedActivationFunction()}
    if kind == "FULLY_CONNECTED":
        o = load(tflite.FullyConnectedOptions)
        return {"act": o.FusedActivationFunction(), "keep_dims": o.KeepNumDims()}
    if kind == "RESIZE_BILINEAR":
        o = load(tflite.ResizeBilinearOptions)
        return {"align_corners": o.AlignCorners(), "half_pixel_centers": o.HalfPixelCenters()}
    if kind == "MEAN":
        return {"keep_dims": load(tflite.ReducerOptions).KeepDims()}
    if kind == "RESHAPE":
        o = load(tflite.ReshapeOptions)
        return {"new_shape": tuple(int(v) for v in o.NewShapeAsNumpy())} if o.NewShapeLength() else {}
    return {}


def read_tflite(path: Path | str) -> TfliteGraph:
    """Parse ``path`` (a .tflite flatbuffer) into a :class:`TfliteGraph`.

    Raises FileNotFoundError if the file is missing and ValueError if it is not a single-subgraph model.
    """
    import tflite

    path = Path(path)
    buf = path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    if model.SubgraphsLength() != 1:
        raise ValueError(f"{path}: expected one subgraph, found {model.SubgraphsLength()}")
    sub = model.Subgraphs(0)
    names = _operator_names()

    tensors: dict[int, TfliteTensor] = {}
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        dtype = _TFLITE_DTYPES.get(t.Type())
        if dtype is None:
            raise ValueError(f"{path}: tensor {t.Name()!r} has unsupported TFLite type {t.Type()}")
        raw = model.Buffers(t.Buffer()).DataAsNumpy() if t.Buffer() > 0 else 0
        shape = tuple(int(s) for s in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        data = None
        if not isinstance(raw, int) and raw.size:
            data = np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape).copy()
        tensors[i] = TfliteTensor(i, t.Name().decode(), shape, dtype, data)

    ops: list[TfliteOp] = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        kind = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "UNKNOWN")
        ins = tuple(int(v) for v in op.InputsAsNumpy()) if op.InputsLength() else ()
        outs = tuple(int(v) for v in op.OutputsAsNumpy())
        if kind == "DEQUANTIZE":
            src = tensors[ins[0]]
            if src.data is None:
                raise ValueError(f"{path}: DEQUANTIZE of a non-constant tensor {src.name!r} is unsupported")
            dst = tensors[outs[0]]
            dst.data = src.data.astype(np.float32)
            dst.dtype = np.float32
            continue
        ops.append(TfliteOp(kind, ins, outs, _decode_options(kind, op)))

    for t in tensors.values():
        if t.data is not None and t.dtype == np.float16:
            t.data = t.data.astype(np.float32)
            t.dtype = np.float32
    inputs = tuple(int(v) for v in sub.InputsAsNumpy())
    outputs = tuple(int(v) for v in sub.OutputsAsNumpy())
    return TfliteGraph(tensors, ops, inputs, outputs)
