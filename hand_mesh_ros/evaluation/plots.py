"""Line plots drawn with OpenCV (no matplotlib): PCK curves as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

_COLOURS = [(200, 80, 30), (40, 140, 40), (30, 60, 200), (150, 50, 150), (20, 150, 180), (90, 90, 90)]


@dataclass(frozen=True, eq=False)
class Curve:
    label: str
    x: np.ndarray
    y: np.ndarray


def draw_curves(curves: Sequence[Curve], title: str, xlabel: str, ylabel: str = "PCK",
                size: tuple[int, int] = (640, 480), y_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Render curves on white axes; returns a BGR uint8 image (height, width, 3)."""
    if not curves:
        raise ValueError("no curves to draw")
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    left, right, top, bottom = 70, 20, 40, 60
    x0 = min(float(np.min(c.x)) for c in curves)
    x1 = max(float(np.max(c.x)) for c in curves)
    y0, y1 = y_range
    if x1 <= x0 or y1 <= y0:
        raise ValueError("empty plot range")

    def to_px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        px = left + (x - x0) / (x1 - x0) * (w - left - right)
        py = h - bottom - (np.clip(y, y0, y1) - y0) / (y1 - y0) * (h - top - bottom)
        return np.stack([px, py], -1).round().astype(np.int32)

    font = cv2.FONT_HERSHEY_SIMPLEX
    for i in range(6):  # grid and tick labels
        fx = x0 + (x1 - x0) * i / 5
        fy = y0 + (y1 - y0) * i / 5
        (gx, _), (_, gy) = to_px(np.array([fx, x0]), np.array([y0, fy]))
        cv2.line(img, (int(gx), top), (int(gx), h - bottom), (225, 225, 225), 1)
        cv2.line(img, (left, int(gy)), (w - right, int(gy)), (225, 225, 225), 1)
        cv2.putText(img, f"{fx:g}", (int(gx) - 10, h - bottom + 20), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, f"{fy:.1f}", (left - 40, int(gy) + 5), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.rectangle(img, (left, top), (w - right, h - bottom), (0, 0, 0), 1)
    for k, c in enumerate(curves):
        colour = _COLOURS[k % len(_COLOURS)]
        pts = to_px(np.asarray(c.x, float), np.asarray(c.y, float))
        cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, colour, 2, cv2.LINE_AA)
        cv2.putText(img, c.label, (left + 10, top + 20 + 20 * k), font, 0.5, colour, 1, cv2.LINE_AA)
    cv2.putText(img, title, (left, top - 12), font, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, xlabel, (w // 2 - 40, h - 15), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylabel, (5, top - 12), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return img


def save_curves(path: Path | str, curves: Sequence[Curve], title: str, xlabel: str,
                ylabel: str = "PCK") -> Path:
    """Draw and write a PNG; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), draw_curves(curves, title, xlabel, ylabel)):
        raise OSError(f"could not write {path}")
    return path
