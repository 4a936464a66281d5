"""A PyTorch module that mirrors a TFLite graph operator by operator.

:func:`spec_from_tflite` turns a parsed :class:`TfliteGraph` into a small, JSON-like *spec* (operator kinds,
tensor wiring, static attributes) plus a state dict in PyTorch layout. :class:`TfliteGraphNet` rebuilds the
network from the spec alone, so the runtime never needs the .tflite file once converted. Activations run in
NCHW; the public input is NHWC float32 (as in TFLite) and the outputs keep TFLite's shapes with a free
batch axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from .layers import ChannelPad, Dense, MaxPool, PRelu, SameConv2d, Upsample, apply_activation, same_padding
from .tflite_reader import TfliteGraph

Spec = dict[str, Any]
_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _pads(
    shape_in: tuple[int, ...],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    dilation: tuple[int, int],
    padding: int,
) -> tuple[int, int, int, int]:
    if padding == 1:  # VALID
        return (0, 0, 0, 0)
    top, bottom = same_padding(shape_in[1], kernel[0], stride[0], dilation[0])
    left, right = same_padding(shape_in[2], kernel[1], stride[1], dilation[1])
    return (top, bottom, left, right)


def spec_from_tflite(graph: TfliteGraph) -> tuple[Spec, dict[str, torch.Tensor]]:
    """Build the network spec and a matching PyTorch state dict from a TFLite graph."""
    nodes: list[dict[str, Any]] = []
    state: dict[str, torch.Tensor] = {}
    consts: dict[int, list[int]] = {}

    def shape(i: int) -> tuple[int, ...]:
        return graph.tensors[i].shape

    def is_const(i: int) -> bool:
        return graph.tensors[i].data is not None

    for n, op in enumerate(graph.ops):
        o = op.options
        name = f"n{n}"
        attrs: dict[str, Any] = {}
        act_ins = [i for i in op.inputs if i >= 0 and not is_const(i)]
        if op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = graph.const(op.inputs[1])
            bias = graph.const(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
            cin = shape(op.inputs[0])[3]
            if op.kind == "CONV_2D":
                w_t = w.transpose(0, 3, 1, 2)
                groups = 1
            else:
                w_t = w.transpose(3, 0, 1, 2)
                groups = cin
            cout, kernel = w_t.shape[0], (int(w_t.shape[2]), int(w_t.shape[3]))
            attrs = {
                "in_ch": cin,
                "out_ch": int(cout),
                "kernel": kernel,
                "stride": o["stride"],
                "dilation": o["dilation"],
                "groups": groups,
                "act": o["act"],
                "pads": _pads(shape(op.inputs[0]), kernel, o["stride"], o["dilation"], o["padding"]),
            }
            state[f"{name}.conv.weight"] = torch.from_numpy(np.ascontiguousarray(w_t, dtype=np.float32))
            b = bias if bias is not None else np.zeros(cout, np.float32)
            state[f"{name}.conv.bias"] = torch.from_numpy(b.astype(np.float32).reshape(-1))
        elif op.kind == "PRELU":
            alpha = graph.const(op.inputs[1]).reshape(-1)
            attrs = {"channels": int(alpha.size)}
            state[f"{name}.weight"] = torch.from_numpy(alpha.astype(np.float32))
        elif op.kind == "MAX_POOL_2D":
            attrs = {
                "kernel": o["kernel"],
                "stride": o["stride"],
                "act": o["act"],
                "pads": _pads(shape(op.inputs[0]), o["kernel"], o["stride"], (1, 1), o["padding"]),
            }
        elif op.kind == "PAD":
            attrs = {"pads": graph.const(op.inputs[1]).astype(int).tolist(), "channels": int(shape(op.inputs[0])[-1])}
        elif op.kind == "RESIZE_BILINEAR":
            if o["align_corners"] or not o["half_pixel_centers"]:
                raise ValueError("only RESIZE_BILINEAR with half_pixel_centers=True is supported")
            size = graph.const(op.inputs[1]).astype(int).tolist()
            attrs = {"size": (size[0], size[1])}
        elif op.kind == "RESHAPE":
            target = (
                [int(v) for v in graph.const(op.inputs[1])] if len(op.inputs) > 1 else list(o["new_shape"])
            )
            attrs = {"tail": target[1:], "in_rank": len(shape(op.inputs[0]))}
        elif op.kind == "CONCATENATION":
            rank = len(shape(op.inputs[0]))
            axis = o["axis"] % rank
            attrs = {"axis": _NHWC_TO_NCHW_AXIS[axis] if rank == 4 else axis, "act": o["act"]}
        elif op.kind == "MEAN":
            axes = sorted(int(a) % 4 for a in graph.const(op.inputs[1]).reshape(-1))
            if axes != [1, 2] or o["keep_dims"]:
                raise ValueError("only MEAN over the spatial axes without keep_dims is supported")
        elif op.kind == "FULLY_CONNECTED":
            w = graph.const(op.inputs[1])
            b = (
                graph.const(op.inputs[2])
                if len(op.inputs) > 2 and op.inputs[2] >= 0
                else np.zeros(w.shape[0])
            )
            if len(shape(op.inputs[0])) != 2:
                raise ValueError("FULLY_CONNECTED expects a rank-2 input in these models")
            attrs = {"in_features": int(w.shape[1]), "out_features": int(w.shape[0]), "act": o["act"]}
            state[f"{name}.linear.weight"] = torch.from_numpy(w.astype(np.float32))
            state[f"{name}.linear.bias"] = torch.from_numpy(b.astype(np.float32))
        elif op.kind == "ADD":
            attrs = {"act": o["act"]}
            for i in op.inputs:
                if is_const(i):
                    consts[i] = list(shape(i))
        elif op.kind == "LOGISTIC":
            pass
        else:
            raise ValueError(f"unsupported TFLite operator {op.kind}")
        ins = [i for i in op.inputs if i >= 0] if op.kind == "ADD" else act_ins
        nodes.append({"kind": op.kind, "inputs": ins, "outputs": list(op.outputs), "attrs": attrs})

    for i in consts:
        data = graph.const(i)
        if data.ndim == 4:
            data = data.transpose(0, 3, 1, 2)
        state[f"const_{i}"] = torch.from_numpy(np.ascontiguousarray(data, dtype=np.float32))
    spec: Spec = {
        "nodes": nodes,
        "input": int(graph.inputs[0]),
        "input_shape": list(graph.tensors[graph.inputs[0]].shape),
        "outputs": [int(i) for i in graph.outputs],
        "output_ranks": [len(graph.tensors[i].shape) for i in graph.outputs],
        "consts": {str(k): v for k, v in consts.items()},
    }
    return spec, state


def _build_module(kind: str, a: dict[str, Any]) -> nn.Module:
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        return SameConv2d(
            a["in_ch"],
            a["out_ch"],
            tuple(a["kernel"]),
            tuple(a["stride"]),
            tuple(a["dilation"]),
            a["groups"],
            tuple(a["pads"]),
            a["act"],
        )
    if kind == "PRELU":
        return PRelu(a["channels"])
    if kind == "MAX_POOL_2D":
        return MaxPool(tuple(a["kernel"]), tuple(a["stride"]), tuple(a["pads"]), a["act"])
    if kind == "PAD":
        return ChannelPad(a["pads"], a.get("channels"))
    if kind == "RESIZE_BILINEAR":
        return Upsample(tuple(a["size"]))
    if kind == "FULLY_CONNECTED":
        return Dense(a["in_features"], a["out_features"], a["act"])
    return nn.Identity()


class TfliteGraphNet(nn.Module):
    """Executes a converted TFLite graph. Input: float32 [N, H, W, 3] (NHWC); outputs: tuple of tensors."""

    def __init__(self, spec: Spec) -> None:
        super().__init__()
        self.spec = spec
        self.nodes = spec["nodes"]
        self.layers = nn.ModuleDict(
            {f"n{k}": _build_module(n["kind"], n["attrs"]) for k, n in enumerate(self.nodes)}
        )
        for key, shp in spec["consts"].items():
            if len(shp) == 4:
                shp = [shp[0], shp[3], shp[1], shp[2]]
            self.register_buffer(f"const_{key}", torch.zeros(shp))

    @classmethod
    def from_file(cls, pt_path: Any) -> TfliteGraphNet:
        """The network stored in a converted ``.pt`` file (spec + state dict), on the CPU, in eval mode."""
        blob = torch.load(pt_path, map_location="cpu", weights_only=True)
        net = cls(blob["spec"])
        net.load_state(blob["state_dict"])
        return net.eval()

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load weights produced by :func:`spec_from_tflite` (keys are ``n<k>.…`` and ``const_<i>``)."""
        remapped = {(f"layers.{k}" if k.startswith("n") else k): v for k, v in state.items()}
        self.load_state_dict(remapped, strict=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        env: dict[int, torch.Tensor] = {self.spec["input"]: x.permute(0, 3, 1, 2)}
        for key, _shp in self.spec["consts"].items():
            env[int(key)] = getattr(self, f"const_{key}")
        for k, node in enumerate(self.nodes):
            kind, a = node["kind"], node["attrs"]
            ins = [env[i] for i in node["inputs"]]
            if kind == "ADD":
                y = apply_activation(ins[0] + ins[1], a["act"])
            elif kind == "CONCATENATION":
                y = apply_activation(torch.cat(ins, dim=a["axis"]), a["act"])
            elif kind == "RESHAPE":
                src = ins[0].permute(0, 2, 3, 1) if a["in_rank"] == 4 else ins[0]
                y = src.reshape([src.shape[0], *list(a["tail"])])
            elif kind == "MEAN":
                y = ins[0].mean(dim=(2, 3))
            elif kind == "LOGISTIC":
                y = torch.sigmoid(ins[0])
            else:
                y = self.layers[f"n{k}"](ins[0])
            env[node["outputs"][0]] = y
        outs = []
        for i, rank in zip(self.spec["outputs"], self.spec["output_ranks"], strict=False):
            t = env[i]
            outs.append(t.permute(0, 2, 3, 1) if rank == 4 else t)
        return tuple(outs)
