"""Test scenes made from real photos: a whole photo scaled down inside a frame of its own size (small, far hands).

No crop is pasted onto a canvas (a detector can find paste edges): the scaled photo, the hand in its own
surroundings, is blended with a soft edge over the full-size photo blurred so much (sigma = 1/8 of its long side)
that only a colour field is left, with no hand in it to find.
"""

from __future__ import annotations

import cv2
import numpy as np


def scaled_scene(rgb: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` (HxWx3 uint8) scaled by ``scale`` in (0, 1] and centred in an HxW frame over a heavily blurred
    copy of itself, blended over a soft edge of 6 % of its size; and the 2x3 matrix taking photo pixel coordinates to
    scene pixel coordinates (pixel centres). Raises ValueError for a scale outside (0, 1]."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    h, w = rgb.shape[:2]
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    background = cv2.GaussianBlur(rgb, (0, 0), max(w, h) / 8.0)  # no hand left to find in it
    x0, y0 = (w - sw) // 2, (h - sh) // 2
    ramp = max(2.0, 0.06 * min(sw, sh))
    yy, xx = np.mgrid[0:sh, 0:sw]
    border = np.minimum(np.minimum(xx, sw - 1 - xx), np.minimum(yy, sh - 1 - yy))
    alpha = np.clip(border / ramp, 0.0, 1.0)[..., None]
    scene = background.astype(np.float32)
    scene[y0:y0 + sh, x0:x0 + sw] = alpha * small + (1.0 - alpha) * scene[y0:y0 + sh, x0:x0 + sw]
    sx, sy = sw / w, sh / h
    to_scene = np.array([[sx, 0.0, x0 + 0.5 * sx - 0.5], [0.0, sy, y0 + 0.5 * sy - 0.5]])
    return np.clip(np.round(scene), 0, 255).astype(np.uint8), to_scene
