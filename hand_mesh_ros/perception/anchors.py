"""SSD anchors of the MediaPipe palm detector (192x192 input, 2016 anchors)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

PALM_INPUT_SIZE = 192
PALM_STRIDES = (8, 16, 16, 16)
ANCHOR_OFFSET = 0.5


@lru_cache(maxsize=4)
def ssd_anchors(
    input_size: int = PALM_INPUT_SIZE, strides: tuple[int, ...] = PALM_STRIDES, offset: float = ANCHOR_OFFSET
) -> np.ndarray:
    """Return anchor centres (N, 2) as (x, y) normalised to [0, 1] of the square network input.

    Layers sharing a stride are merged: every cell of that grid gets two anchors per layer (one per aspect
    ratio plus the interpolated scale; all have unit size because the palm model uses fixed-size anchors).
    Cells are ordered row by row, the 24x24 grid (stride 8) before the 12x12 grid (stride 16).
    """
    centres: list[np.ndarray] = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        j = i
        while j < len(strides) and strides[j] == stride:
            j += 1
        same = j - i
        grid = -(-input_size // stride)
        ys, xs = np.meshgrid(np.arange(grid), np.arange(grid), indexing="ij")
        cell = np.stack([(xs + offset) / grid, (ys + offset) / grid], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(cell, 2 * same, axis=1).reshape(-1, 2))
        i = j
    anchors = np.concatenate(centres).astype(np.float64)
    anchors.setflags(write=False)
    return anchors
