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
        label = hand.label
        org = (int(pts[:, 0].min()), max(12, int(pts[:, 1].min()) - 8))
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


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
