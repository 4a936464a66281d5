"""The overlay's labels: outlined text whose outline sits around the letters (with OpenCV 4 and 5 alike)."""

from __future__ import annotations

import cv2
import numpy as np

from hand_mesh_ros.visualization.overlay import HandDrawing, draw_hands, draw_label

LABEL = "#12 right 0.97 z=0.45m held"
FILL, OUTLINE = (255, 0, 0), (0, 0, 255)  # told apart by channel: red letters, blue outline


def _masks(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels mostly of the letters' colour and pixels mostly of the outline's colour."""
    return image[:, :, 0] > 127, image[:, :, 2] > 127


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())


def _grow(mask: np.ndarray, px: int = 1) -> np.ndarray:
    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)


def test_label_outline_surrounds_its_letters() -> None:
    image = np.zeros((60, 320, 3), np.uint8)
    draw_label(image, LABEL, (20, 35), color=FILL, outline=OUTLINE)
    fill, outline = _masks(image)
    assert fill.sum() > 300 and outline.sum() > 300  # both drawn
    # every letter pixel touches the outline (a second, misplaced text would leave letters bare) ...
    assert not np.any(fill & ~_grow(outline)), "letter pixels away from any outline"
    # ... the pixels right around the letters are outline ...
    ring = _grow(fill) & ~fill
    assert outline[ring].mean() > 0.9
    # ... and the outline spans the letters, one pixel further on every side, centred on them
    fx0, fx1, fy0, fy1 = _box(fill)
    ox0, ox1, oy0, oy1 = _box(outline)
    assert abs((fx0 + fx1) / 2 - (ox0 + ox1) / 2) <= 1.0 and abs((fy0 + fy1) / 2 - (oy0 + oy1) / 2) <= 1.0
    assert 0 <= fx0 - ox0 <= 2 and 0 <= ox1 - fx1 <= 2 and 0 <= fy0 - oy0 <= 2 and 0 <= oy1 - fy1 <= 2
    # the label starts at the given origin, as cv2.putText's would
    (_, height), _ = cv2.getTextSize(LABEL, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
    assert abs(fx0 - 20) <= 3 and abs(fy0 - (35 - height)) <= 3


def test_label_off_the_image_is_cut_not_an_error() -> None:
    image = np.full((40, 80, 3), 120, np.uint8)
    for org in ((-30, 5), (60, 45), (-500, -500), (70, 20)):
        draw_label(image, LABEL, org)
    assert image.dtype == np.uint8 and image.shape == (40, 80, 3)
    assert (image == 255).any() and (image == 0).any()  # the visible parts were drawn


def test_draw_hands_writes_the_outlined_label_above_the_hand() -> None:
    joints = np.stack([np.linspace(100, 180, 21), np.linspace(120, 200, 21)], axis=1)
    hand = HandDrawing(joints, np.zeros((0, 3)), np.zeros((0, 3), np.int32), LABEL)
    out = draw_hands(np.full((240, 320, 3), 120, np.uint8), [hand])
    above = out[:112]  # the label's baseline is 8 px above the top joint
    white = np.all(above > 200, axis=2)  # on mid grey: the letters, and the outline around them
    black = np.all(above < 55, axis=2)
    assert white.sum() > 100 and black.sum() > 100
    assert not np.any(white & ~_grow(black, 2))
