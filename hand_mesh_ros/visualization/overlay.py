"""Draw reconstructed hands on an image (debug image topic, demo strips). RGB in, RGB out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..geometry.camera import CameraModel
from ..handmodel.constants import KEYPOINT_PARENTS
from ..reconstruction.types import ReconstructedHand

_FINGER_COLORS = ((255, 80, 80), (255, 200, 0), (80, 220, 80), (0, 180, 255), (200, 80, 255))


def _finger(j: int) -> int:
    return max(0, (j - 1) // 4)


@dataclass(frozen=True)
class HandDrawing:
    """What the overlay needs of one hand: joints_px (21, 2) px, mesh vertices (V, 3) m in the camera frame
    and faces (F, 3) (empty arrays for no mesh), and a label."""

    joints_px: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    label: str

    @classmethod
    def of(cls, hand: ReconstructedHand) -> HandDrawing:
        label = f"#{hand.track_id} {hand.handedness} {hand.confidence:.2f} z={hand.joints[0, 2]:.2f}m"
        return cls(hand.joints_px, hand.vertices, hand.faces, label + (" held" if hand.held else ""))


def draw_hands(image_rgb: np.ndarray, hands: Sequence[ReconstructedHand | HandDrawing],
               camera: CameraModel | None = None, mesh: bool = True) -> np.ndarray:
    """A copy of ``image_rgb`` with each hand's projected mesh (translucent), skeleton and a label
    (track id, side, confidence, wrist depth; 'held' when the result is repeated)."""
    out = np.ascontiguousarray(image_rgb).copy()
    for item in hands:
        hand = item if isinstance(item, HandDrawing) else HandDrawing.of(item)
        if mesh and camera is not None and len(hand.vertices) and len(hand.faces):
            px = camera.project(np.asarray(hand.vertices, dtype=np.float64))
            tris = px[np.asarray(hand.faces)]
            tris = np.round(tris[np.all(np.isfinite(tris), axis=(1, 2))]).astype(np.int32)
            layer = out.copy()
            cv2.fillPoly(layer, list(tris), (235, 190, 160), lineType=cv2.LINE_AA)
            out = cv2.addWeighted(layer, 0.45, out, 0.55, 0)
        pts = np.round(np.asarray(hand.joints_px, dtype=np.float64)).astype(np.int32)
        for j, p in enumerate(KEYPOINT_PARENTS):
            if p >= 0:
                cv2.line(out, tuple(pts[p]), tuple(pts[j]), _FINGER_COLORS[_finger(j)], 2, cv2.LINE_AA)
        for j, q in enumerate(pts):
            cv2.circle(out, tuple(q), 3, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(out, tuple(q), 3, _FINGER_COLORS[_finger(j)], 1, cv2.LINE_AA)
        org = (int(pts[:, 0].min()), max(12, int(pts[:, 1].min()) - 8))
        draw_label(out, hand.label, org)
    return out


def draw_label(image: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.5,
               color: tuple[int, int, int] = (255, 255, 255), outline: tuple[int, int, int] = (0, 0, 0),
               outline_px: int = 1) -> None:
    """Write ``text`` into the HxWx3 uint8 ``image`` in place: ``color`` letters ringed by ``outline_px`` px of
    ``outline``; ``org`` is the left end of the baseline (as for ``cv2.putText``); parts off the image are cut.

    The text is drawn once, into a coverage mask, and the outline is that mask grown by ``outline_px``
    (a morphological dilation), so letters and outline line up whatever ``putText`` makes of a thickness.
    (Drawing the outline as a second, thicker ``putText`` pass does not: OpenCV 5 renders the Hershey font
    names with a TrueType font whose weight follows the thickness, and the bolder weight is wider, so such an
    outline drifts off the letters along the label.)
    """
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), baseline = cv2.getTextSize(text, font, scale, 1)
    pad = outline_px + 4  # room for the outline and for glyphs that reach past the reported box
    x0, y0 = org[0] - pad, org[1] - height - pad
    fill = np.zeros((height + baseline + 2 * pad, width + 2 * pad), np.uint8)
    cv2.putText(fill, text, (pad, pad + height), font, scale, 255, 1, cv2.LINE_AA)
    size = 2 * outline_px + 1
    ring = cv2.dilate(fill, np.ones((size, size), np.uint8))
    # the part of the label's patch that lies on the image
    ix0, iy0 = max(x0, 0), max(y0, 0)
    ix1, iy1 = min(x0 + fill.shape[1], image.shape[1]), min(y0 + fill.shape[0], image.shape[0])
    if ix0 >= ix1 or iy0 >= iy1:
        return
    cut = (slice(iy0 - y0, iy1 - y0), slice(ix0 - x0, ix1 - x0))
    a_ring = ring[cut].astype(np.float32)[:, :, None] / 255.0
    a_fill = fill[cut].astype(np.float32)[:, :, None] / 255.0
    patch = image[iy0:iy1, ix0:ix1].astype(np.float32)
    patch = patch * (1.0 - a_ring) + np.asarray(outline, np.float32) * a_ring
    patch = patch * (1.0 - a_fill) + np.asarray(color, np.float32) * a_fill
    image[iy0:iy1, ix0:ix1] = np.clip(np.rint(patch), 0, 255).astype(image.dtype)


def image_strip(images: Sequence[np.ndarray], height: int = 240, columns: int = 4) -> np.ndarray:
    """Tile RGB images (resized to ``height``) into rows of ``columns``; black padding."""
    if not images:
        raise ValueError("no images to tile")
    tiles = [cv2.resize(im, (max(1, round(im.shape[1] * height / im.shape[0])), height)) for im in images]
    width = max(t.shape[1] for t in tiles)
    tiles = [np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0))) for t in tiles]
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i:i + columns], axis=1) for i in range(0, len(tiles), columns)]
    return np.concatenate(rows, axis=0)
