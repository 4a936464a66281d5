"""PyTorch building blocks that reproduce TFLite operator semantics in NCHW layout.

TFLite's "SAME" padding is asymmetric for strided convolutions (the extra row/column goes at the
bottom/right); :func:`same_padding` computes it exactly so the converted networks give the same numbers
as the originals.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# TFLite fused activation codes.
ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 3


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """Return (before, after) padding of one spatial axis for TF "SAME" padding."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def apply_activation(x: torch.Tensor, act: int) -> torch.Tensor:
    """Apply a TFLite fused activation (NONE, RELU or RELU6)."""
    if act == ACT_NONE:
        return x
    if act == ACT_RELU:
        return F.relu(x)
    if act == ACT_RELU6:
        return torch.clamp(x, 0.0, 6.0)
    raise ValueError(f"unsupported fused activation code {act}")


class SameConv2d(nn.Module):
    """Conv2d (dense or depthwise) with TF "SAME"/"VALID" padding precomputed for a static input size."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
        pads: tuple[int, int, int, int],
        act: int,
    ) -> None:
        super().__init__()
        top, bottom, left, right = pads
        symmetric = top == bottom and left == right
        self.pre_pad = None if symmetric else (left, right, top, bottom)
        self.conv = nn.Conv2d(
            in_ch,
            out_ch,
            kernel,
            stride=stride,
            dilation=dilation,
            groups=groups,
            padding=(top, left) if symmetric else 0,
            bias=True,
        )
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad)
        return apply_activation(self.conv(x), self.act)


class PRelu(nn.Module):
    """Per-channel PReLU: ``max(x, 0) + alpha * min(x, 0)``, computed as ``relu(x) + relu(-x) * (-alpha)``.

    The same arithmetic (one of the two terms is always zero, sign changes are exact), in operators ONNX Runtime
    keeps in its blocked (NCHWc) convolution layout: ReLU, per-channel products (as 1x1 depthwise convolutions;
    the negation too, hence a product with a per-channel -1 rather than a Neg) and a sum. ``F.prelu`` and two
    clamps are neither: converting the layout around each made the palm detector 1.5x (PRelu) and 1.25x (Clip)
    slower. Unlike ``(1 - alpha) relu(x) + alpha x``, nothing cancels, so half precision (TensorRT) keeps it.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))
        self.negate: torch.Tensor
        self.register_buffer("negate", torch.full((1, channels, 1, 1), -1.0), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) + torch.relu(x * self.negate) * -self.weight.view(1, -1, 1, 1)


class MaxPool(nn.Module):
    """Max pooling with TF padding (padded cells never win: they are -inf)."""

    def __init__(
        self, kernel: tuple[int, int], stride: tuple[int, int], pads: tuple[int, int, int, int], act: int
    ) -> None:
        super().__init__()
        top, bottom, left, right = pads
        self.pre_pad = (left, right, top, bottom) if any(pads) else None
        self.kernel, self.stride, self.act = kernel, stride, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad, value=float("-inf"))
        return apply_activation(F.max_pool2d(x, self.kernel, self.stride), self.act)


class ChannelPad(nn.Module):
    """Zero padding along channels (TFLite PAD on the last NHWC axis) and/or spatial axes.

    Channels alone (given the input's ``channels``) are padded by a 1x1 convolution with an identity block: ONNX
    Runtime keeps it, and the sum it feeds, in its blocked (NCHWc) layout, where a ``Pad`` costs a layout
    conversion on each side (with the PReLU form above, the palm detector is 1.4x faster than with both).
    """

    def __init__(self, pads_nhwc: list[list[int]], channels: int | None = None) -> None:
        super().__init__()
        if pads_nhwc[0] != [0, 0]:
            raise ValueError("padding the batch axis is not supported")
        (t, b), (left, r), (c0, c1) = pads_nhwc[1], pads_nhwc[2], pads_nhwc[3]
        self.pads = (left, r, t, b, c0, c1)
        self.identity: torch.Tensor | None
        self.register_buffer("identity", None, persistent=False)
        if channels is not None and (t, b, left, r) == (0, 0, 0, 0) and min(c0, c1) >= 0:
            weight = torch.zeros(c0 + channels + c1, channels, 1, 1)
            weight[c0 : c0 + channels, :, 0, 0] = torch.eye(channels)
            self.register_buffer("identity", weight, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.identity is None:
            return F.pad(x, self.pads)
        return F.conv2d(x, self.identity)


class Upsample(nn.Module):
    """Bilinear resize with half-pixel centres (TFLite RESIZE_BILINEAR, half_pixel_centers=True)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)


class Dense(nn.Module):
    """TFLite FULLY_CONNECTED on a rank-2 input: ``x @ W.T + b`` with a fused activation."""

    def __init__(self, in_features: int, out_features: int, act: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply_activation(self.linear(x.reshape(x.shape[0], -1)), self.act)
