"""Small ONNX graph clean-up after export: fold zero "Pad" nodes into the convolution that follows.

TF "SAME" padding of strided convolutions is asymmetric, which ``torch.nn.Conv2d`` cannot express, so the
PyTorch modules pad explicitly. ONNX ``Conv`` accepts asymmetric pads, and a separate ``Pad`` costs ONNX
Runtime a layout conversion on each side; folding removes both.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


def _constant(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    """Value of tensor ``name`` when it is an initializer, a Constant node, or a Cast of one of those."""
    for init in graph.initializer:
        if init.name == name:
            return numpy_helper.to_array(init)
    for node in graph.node:
        if name not in node.output:
            continue
        if node.op_type == "Constant":
            return numpy_helper.to_array(node.attribute[0].t)
        if node.op_type == "Cast":
            return _constant(graph, node.input[0])
    return None


def fold_pads_into_convs(model: onnx.ModelProto) -> int:
    """Fold spatial zero ``Pad`` nodes whose only consumer is a ``Conv``; return how many were folded."""
    graph = model.graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    folded: list[onnx.NodeProto] = []
    for pad in [n for n in graph.node if n.op_type == "Pad"]:
        mode = next((a.s.decode() for a in pad.attribute if a.name == "mode"), "constant")
        users = consumers.get(pad.output[0], [])
        pads = _constant(graph, pad.input[1]) if len(pad.input) > 1 else None
        value = _constant(graph, pad.input[2]) if len(pad.input) > 2 and pad.input[2] else np.zeros(1)
        if mode != "constant" or pads is None or value is None or np.any(value != 0):
            continue
        if len(users) != 1 or users[0].op_type != "Conv" or users[0].input[0] != pad.output[0]:
            continue
        if pad.output[0] in [o.name for o in graph.output]:
            continue
        pads = [int(v) for v in pads.reshape(-1)]
        if len(pads) != 8 or pads[0] or pads[1] or pads[4] or pads[5]:
            continue
        conv = users[0]
        old = next((list(a.ints) for a in conv.attribute if a.name == "pads"), [0, 0, 0, 0])
        if any(a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for a in conv.attribute):
            continue
        new = [old[0] + pads[2], old[1] + pads[3], old[2] + pads[6], old[3] + pads[7]]
        kept = [a for a in conv.attribute if a.name != "pads"]
        del conv.attribute[:]
        conv.attribute.extend([*kept, helper.make_attribute("pads", new)])
        conv.input[0] = pad.input[0]
        folded.append(pad)
    for pad in folded:
        graph.node.remove(pad)
    return len(folded)
