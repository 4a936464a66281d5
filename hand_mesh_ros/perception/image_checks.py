"""Validation of input images, so that bad input fails early with a clear message."""

from __future__ import annotations

import numpy as np

MIN_IMAGE_SIDE = 2


def check_rgb_image(image: object, name: str = "image") -> np.ndarray:
    """Return ``image`` as a C-contiguous HxWx3 uint8 array or raise TypeError/ValueError.

    Accepts only numpy arrays of dtype uint8 with shape (H, W, 3), H and W >= 2. A non-contiguous array
    (e.g. a flipped or strided view) is copied to a contiguous one rather than rejected.
    """
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{name} must be a numpy array (H, W, 3) uint8 RGB, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(f"{name} must have dtype uint8 (RGB 0..255), got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"{name} must have shape (H, W, 3) RGB, got {image.shape}")
    if image.shape[0] < MIN_IMAGE_SIDE or image.shape[1] < MIN_IMAGE_SIDE:
        raise ValueError(
            f"{name} is too small: {image.shape[1]}x{image.shape[0]} px, need at least "
            f"{MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE}"
        )
    return np.ascontiguousarray(image)


def check_batch(batch: object, size: int, name: str) -> np.ndarray:
    """Return ``batch`` as a C-contiguous float32 (N, size, size, 3) array or raise TypeError/ValueError."""
    if not isinstance(batch, np.ndarray):
        raise TypeError(
            f"{name} must be a numpy array (N, {size}, {size}, 3) float32, got {type(batch).__name__}"
        )
    if batch.ndim != 4 or batch.shape[1:] != (size, size, 3) or batch.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N>=1, {size}, {size}, 3), got {batch.shape}")
    if batch.dtype != np.float32:
        raise TypeError(f"{name} must have dtype float32 (values in [0, 1]), got {batch.dtype}")
    return np.ascontiguousarray(batch)
