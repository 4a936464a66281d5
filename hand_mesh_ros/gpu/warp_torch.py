"""Batched network-input crops in torch (on the GPU next to a TensorRT engine, or on the CPU in tests).

The same arithmetic as :mod:`hand_mesh_ros.perception.warp` (OpenCV 4.x fixed-point bilinear warp: source
coordinates rounded to 1/32 px, integer weights (32 - ax)(32 - ay) ... summing to 1024, rounded shift by 10), so
a crop made here equals the CPU crop bit for bit: a frame gets the same landmarks on either path. The only
per-crop work on the host is inverting a 3x3 matrix.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

_INTER_BITS = 5
_TAB = 1 << _INTER_BITS
_INT32_MIN, _INT32_MAX = float(np.iinfo(np.int32).min), float(np.iinfo(np.int32).max)


def inverse_matrices(image_to_dst: list[np.ndarray]) -> np.ndarray:
    """(N, 9) float64 dst -> image matrices, inverted with cv2.invert as the CPU path does."""
    out = np.empty((len(image_to_dst), 9), np.float64)
    for k, m in enumerate(image_to_dst):
        ok, inv = cv2.invert(np.asarray(m, dtype=np.float64))
        if not ok:
            raise ValueError("warp matrix is singular")
        out[k] = inv.reshape(-1)
    return out


def warp_batch(
    image: torch.Tensor, image_to_dst: list[np.ndarray], size: int, border: int = cv2.BORDER_CONSTANT
) -> torch.Tensor:
    """Warp one HxWxC uint8 image (a tensor on any device) into N size x size crops: (N, size, size, C) uint8.

    ``image_to_dst``: N 3x3 image px -> crop px matrices; ``border``: cv2.BORDER_CONSTANT (zeros) or
    cv2.BORDER_REPLICATE.
    """
    if border not in (cv2.BORDER_CONSTANT, cv2.BORDER_REPLICATE):
        raise ValueError("border must be cv2.BORDER_CONSTANT or cv2.BORDER_REPLICATE")
    if image.dtype != torch.uint8 or image.ndim != 3:
        raise ValueError(f"image must be an HxWxC uint8 tensor, got {image.dtype} {tuple(image.shape)}")
    dev = image.device
    m = torch.from_numpy(inverse_matrices(image_to_dst)).to(dev)  # (N, 9)
    r = torch.arange(size, dtype=torch.float64, device=dev)
    x, y = r.view(1, 1, size), r.view(1, size, 1)

    def row(k: int) -> torch.Tensor:
        return m[:, k].view(-1, 1, 1)

    # Same IEEE operations and order as the numpy tables: (M7 y + M8) + M6 x, then TAB / W (0 where W = 0).
    w = (row(7) * y + row(8)) + row(6) * x
    w = torch.where(w != 0, _TAB / torch.where(w != 0, w, 1.0), 0.0)
    q = []
    for k in (0, 1):
        f = ((row(3 * k + 1) * y + row(3 * k + 2)) + row(3 * k) * x) * w
        q.append(torch.round(f.clamp(_INT32_MIN, _INT32_MAX)).to(torch.int64))  # round half to even
    sx = (q[0] >> _INTER_BITS).clamp(-32768, 32767)
    sy = (q[1] >> _INTER_BITS).clamp(-32768, 32767)
    ax, ay = q[0] & (_TAB - 1), q[1] & (_TAB - 1)
    h, wd = image.shape[0], image.shape[1]
    flat = image.reshape(h * wd, image.shape[2]).to(torch.int32)

    def sample(yy: torch.Tensor, xx: torch.Tensor) -> torch.Tensor:
        inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < wd)
        v = flat[(yy.clamp(0, h - 1) * wd + xx.clamp(0, wd - 1)).reshape(-1)].reshape(*yy.shape, -1)
        if border == cv2.BORDER_CONSTANT:
            v = v * inside.unsqueeze(-1)
        return v

    acc = (sample(sy, sx) * ((_TAB - ax) * (_TAB - ay)).unsqueeze(-1).to(torch.int32)
           + sample(sy, sx + 1) * (ax * (_TAB - ay)).unsqueeze(-1).to(torch.int32)
           + sample(sy + 1, sx) * ((_TAB - ax) * ay).unsqueeze(-1).to(torch.int32)
           + sample(sy + 1, sx + 1) * (ax * ay).unsqueeze(-1).to(torch.int32))
    return ((acc + (1 << (2 * _INTER_BITS - 1))) >> (2 * _INTER_BITS)).clamp(0, 255).to(torch.uint8)


def crops_into(
    out: torch.Tensor, image: torch.Tensor, image_to_dst: list[np.ndarray], border: int = cv2.BORDER_CONSTANT
) -> torch.Tensor:
    """Write the crops of ``image`` scaled to [0, 1] into ``out[:N]`` (float32 NHWC, e.g. an engine's input
    buffer) and return that slice."""
    n = len(image_to_dst)
    dst = out[:n]
    torch.mul(warp_batch(image, image_to_dst, out.shape[1], border), 1.0 / 255.0, out=dst)
    return dst
