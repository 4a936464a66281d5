"""INT8 by explicit quantization: quantize/dequantize (Q/DQ) pairs around the dense convolutions, calibrated on
the user's images, exported from PyTorch as an ONNX file that TensorRT (10 and 11) and ONNX Runtime both run.

Calibration: the real network inputs of the calibration images (the palm detector's letterboxed frames, the
landmark network's hand crops found by the float32 pipeline) go through the float32 network; each quantized
convolution's input range is the largest, over the batches, 99.999th percentile of |x| (99.99th and the mean of
the batch maxima gave the same or worse). Activations are quantized per tensor, weights per output channel,
both symmetric int8. Only the dense convolutions are quantized: with the depthwise ones in int8 too, the
landmarks of the 28 hands in the gesture photos moved by 1.5 px (median) and up to 22 px against float32
(calibrated on handgraph_dev's 100 images, run by ONNX Runtime on the CPU); with them in float32, 0.33 px and
1.47 px. Everything else (depthwise convolutions, additions, PReLU, pooling, resizing, the fully connected
heads) stays in float32.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from .landmark_model import PIXEL_SCALE
from .precision_onnx import load_net
from .regions import crop_region, full_image_region

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
MAX_IMAGES = 300
MIN_SAMPLES = 8
PERCENTILE = 99.999


def fold_qdq_parameters(model: onnx.ModelProto) -> int:
    """Turn the scales and zero points of every Q/DQ node into initializers (the exporter leaves them behind
    Constant and Identity nodes; TensorRT wants initializers). Returns how many were folded. Nodes and
    initializers left unused are removed."""
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    values = {init.name: numpy_helper.to_array(init) for init in graph.initializer}

    def value(name: str) -> np.ndarray | None:
        if name in values:
            return values[name]
        node = producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant":
            result = numpy_helper.to_array(node.attribute[0].t)
        elif node.op_type in ("Identity", "Cast"):
            src = value(node.input[0])
            if src is None:
                return None
            to = next((a.i for a in node.attribute if a.name == "to"), None)
            result = src if to is None else src.astype(helper.tensor_dtype_to_np_dtype(to))
        else:
            return None
        values[name] = result
        return result

    folded = 0
    initializers = {init.name for init in graph.initializer}
    for node in graph.node:
        if node.op_type not in ("QuantizeLinear", "DequantizeLinear"):
            continue
        for k in range(1, len(node.input)):
            name = node.input[k]
            if name in initializers:
                continue
            v = value(name)
            if v is None:
                raise ValueError(f"{node.name}: input {name} is not a constant")
            new = f"{node.name}_param{k}"
            graph.initializer.append(numpy_helper.from_array(v, new))
            initializers.add(new)
            node.input[k] = new
            folded += 1
    used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    changed = True
    while changed:  # drop the now unused Constant/Cast/Identity chains
        changed = False
        for node in list(graph.node):
            if not any(out in used for out in node.output):
                graph.node.remove(node)
                changed = True
        used = {i for node in graph.node for i in node.input} | {o.name for o in graph.output}
    for init in list(graph.initializer):
        if init.name not in used:
            graph.initializer.remove(init)
    return folded


def calibration_images(folder: Path | None) -> list[Path]:
    """The image files of a calibration folder (recursively, sorted, at most MAX_IMAGES)."""
    if folder is None:
        raise ValueError("int8 needs calibration images: pass a folder of images with hands (e.g. "
                         "`python -m hand_mesh_ros.perception.build_engines --precision int8 --calibration DIR`)")
    if not Path(folder).is_dir():
        raise ValueError(f"calibration folder {folder} does not exist")
    files = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in calibration folder {folder}")
    return files[:MAX_IMAGES]


def calibration_fingerprint(folder: Path | None) -> str:
    """A hash of the calibration image names and sizes ('' without a folder)."""
    if folder is None:
        return ""
    h = hashlib.sha256()
    for p in calibration_images(folder):
        h.update(f"{p.name}:{p.stat().st_size};".encode())
    return h.hexdigest()


def _read_rgb(path: Path) -> np.ndarray | None:
    bgr = cv2.imread(str(path))
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def calibration_inputs(name: str, folder: Path, models_dir: Path | None = None, log=print) -> np.ndarray:
    """float32 NHWC network inputs of model ``name`` made from the calibration images."""
    images = [img for p in calibration_images(folder) if (img := _read_rgb(p)) is not None]
    samples: list[np.ndarray] = []
    if name.startswith("palm_detection"):
        for img in images:
            crop, _ = crop_region(img, full_image_region(img.shape[1], img.shape[0]), 192, cv2.BORDER_CONSTANT)
            samples.append(crop)
    else:
        from .pipeline import HandPerception

        perception = HandPerception(variant=name.rsplit("_", 1)[1], backend="onnxruntime", models_dir=models_dir)
        for img in images:
            for hand in perception.process(img, static=True):
                samples.append(crop_region(img, hand.region, 224, cv2.BORDER_REPLICATE)[0])
    if len(samples) < MIN_SAMPLES:
        raise ValueError(f"{name}: only {len(samples)} calibration inputs from {folder} (need {MIN_SAMPLES}; "
                         "use more images, with hands in them)")
    log(f"{name}: {len(samples)} calibration inputs from {len(images)} images")
    return np.multiply(np.stack(samples), PIXEL_SCALE, dtype=np.float32)


class QuantConv2d(nn.Module):
    """A convolution whose input (per tensor) and weight (per output channel) pass through int8 Q/DQ."""

    def __init__(self, conv: nn.Conv2d, input_amax: float) -> None:
        super().__init__()
        self.conv = conv
        self.register_buffer("input_scale", torch.tensor(max(input_amax, 1e-8) / 127.0))
        w_amax = conv.weight.detach().abs().amax(dim=(1, 2, 3)).clamp_min(1e-8)
        self.register_buffer("weight_scale", (w_amax / 127.0).float())
        self.register_buffer("zero_point", torch.zeros(conv.out_channels, dtype=torch.int32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.fake_quantize_per_tensor_affine(x, self.input_scale, torch.tensor(0, dtype=torch.int32),
                                                  -128, 127)
        w = torch.fake_quantize_per_channel_affine(self.conv.weight, self.weight_scale, self.zero_point, 0,
                                                   -128, 127)
        return self.conv._conv_forward(x, w, self.conv.bias)


def quantized_net(name: str, models_dir: Path | None, calibration: Path | None, log=print,
                  batch: int = 16) -> nn.Module:
    """The float32 network of ``name`` with int8 Q/DQ around its dense convolutions, calibrated on
    ``calibration``."""
    inputs = calibration_inputs(name, calibration, models_dir, log)  # type: ignore[arg-type]
    net = load_net(name, models_dir)
    convs = [(parent, attr, mod) for parent in net.modules() for attr, mod in parent.named_children()
             if isinstance(mod, nn.Conv2d) and mod.groups == 1]
    amax = {id(conv): 0.0 for _, _, conv in convs}

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0].detach().abs().flatten()
        k = max(1, round(PERCENTILE / 100.0 * x.numel()))
        amax[id(module)] = max(amax[id(module)], float(x.kthvalue(k).values))

    handles = [conv.register_forward_pre_hook(hook) for _, _, conv in convs]
    with torch.no_grad():
        for k in range(0, len(inputs), batch):
            net(torch.from_numpy(inputs[k : k + batch]))
            log(f"{name}: calibrating {min(k + batch, len(inputs))}/{len(inputs)}")
    for h in handles:
        h.remove()
    for parent, attr, conv in convs:
        setattr(parent, attr, QuantConv2d(conv, amax[id(conv)]))
    log(f"{name}: {len(convs)} dense convolutions quantized")
    return net.eval()
