"""A procedural, mildly cluttered indoor-looking background (no external images).

A two-colour vertical gradient (wall), a darker band at the bottom (table), a few large blurred shapes in
muted, non-skin colours and a little fixed grain. Deterministic for a seed.
"""

from __future__ import annotations

import cv2
import numpy as np

# Muted colours (RGB) far from skin tones: greys, blue-greys, greens, dull blues.
PALETTE = np.array(
    [
        (120, 130, 140),
        (90, 105, 120),
        (150, 160, 165),
        (95, 120, 100),
        (70, 85, 110),
        (160, 165, 150),
        (60, 70, 75),
        (110, 125, 150),
    ],
    dtype=np.float64,
)


def make_background(width: int, height: int, rng: np.random.Generator, shapes: int = 9) -> np.ndarray:
    """(height, width, 3) uint8 RGB background drawn from ``rng``."""
    if width <= 0 or height <= 0:
        raise ValueError(f"background size must be positive, got {width}x{height}")
    if shapes < 0:
        raise ValueError(f"shapes must be >= 0, got {shapes}")
    top = PALETTE[rng.integers(len(PALETTE))] + rng.uniform(20, 50)
    bottom = PALETTE[rng.integers(len(PALETTE))] * rng.uniform(0.7, 0.95)
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    img = np.broadcast_to((1 - t) * top + t * bottom, (height, width, 3)).copy()
    # a table edge across the lower part, slightly tilted
    y0 = height * rng.uniform(0.78, 0.9)
    slope = rng.uniform(-0.05, 0.05)
    yy, xx = np.mgrid[0:height, 0:width]
    table = yy > y0 + slope * (xx - width / 2)
    img[table] = img[table] * 0.6 + PALETTE[rng.integers(len(PALETTE))] * 0.3
    for _ in range(shapes):
        layer = np.zeros((height, width), np.uint8)
        cx, cy = int(rng.uniform(0, width)), int(rng.uniform(0, height))
        if rng.uniform() < 0.5:
            axes = (int(rng.uniform(0.05, 0.2) * width), int(rng.uniform(0.05, 0.2) * height))
            cv2.ellipse(layer, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        else:
            w, h = int(rng.uniform(0.05, 0.25) * width), int(rng.uniform(0.05, 0.3) * height)
            cv2.rectangle(layer, (cx - w // 2, cy - h // 2), (cx + w // 2, cy + h // 2), 255, -1)
        sigma = rng.uniform(3.0, 15.0)
        alpha = cv2.GaussianBlur(layer.astype(np.float32) / 255.0, (0, 0), sigma)[..., None]
        alpha *= rng.uniform(0.4, 0.8)
        img = img * (1 - alpha) + PALETTE[rng.integers(len(PALETTE))] * alpha
    img += rng.normal(0.0, 2.0, size=img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)
